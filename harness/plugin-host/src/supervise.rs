//! Checking one metric under a supervisor that enforces the per-call
//! wall-clock limit in-process.
//!
//! The conditions run on a thread of their own that owns (shares) all the
//! data a plugin call can read: the workbench behind an [`Arc`], the metric,
//! its spec. The supervisor watches the metric's library gate
//! ([`crate::call_gate`]): when a call of *this* metric overruns its limit,
//! the library is blocked with the metric as the named culprit, the
//! conditions thread is abandoned inside the plugin (it never unwinds, so
//! nothing it borrows is freed under the plugin), and the metric gets a hang
//! verdict for the condition that was running and "skipped" for the others.
//! Verdicts of conditions that had finished before the hang are not kept:
//! the conditions hand back one report at the end.

use crate::LoadedMetric;
use crate::call_gate::{CallKind, Hang};
use rdpbench_core::conditions::{
    ConditionId, MetricReport, Status, Workbench, check_metric, error_report, summarize,
};
use rdpbench_sdk::Metric;
use std::sync::Arc;
use std::sync::mpsc;
use std::time::Duration;

/// How often the supervisor looks at the gate.
const POLL: Duration = Duration::from_millis(20);

/// One supervised check.
#[derive(Debug)]
pub struct Supervised {
    pub report: MetricReport,
    /// The metric's call that hung, if one did (its library is now blocked).
    pub hang: Option<Hang>,
}

enum Event {
    Condition(ConditionId),
    Done(MetricReport),
}

fn is_call_of(hang: &Hang, metric: &LoadedMetric) -> bool {
    hang.kind == CallKind::MetricCompute && hang.index == metric.index()
}

/// The report of a metric that hung `during` a condition: that condition's
/// verdict names the hang, every other selected one says it was skipped.
pub fn hang_report(
    metric: &LoadedMetric,
    bench: &Workbench,
    hang: &Hang,
    during: Option<ConditionId>,
) -> MetricReport {
    let spec = metric.cached_spec();
    let at = during
        .map(|c| format!(" during {c} ({})", c.name()))
        .unwrap_or_default();
    let mut report = error_report(
        spec,
        &bench.settings,
        &format!("skipped: the metric hung{at}"),
    );
    for v in &mut report.verdicts {
        if Some(v.condition) == during {
            v.status = Status::Error;
            v.reason = format!(
                "hang: no answer within {:.1} s{at} (call limit [plugins].call_timeout_secs); \
                 remaining conditions skipped",
                hang.limit_secs
            );
        }
    }
    report.summary = summarize(&report.verdicts);
    report
}

/// The report of a metric that was not run because its library is blocked
/// by `hang` (another metric's hung call).
pub fn blocked_report(metric: &LoadedMetric, bench: &Workbench, hang: &Hang) -> MetricReport {
    error_report(
        metric.cached_spec(),
        &bench.settings,
        &format!(
            "not checked: blocked by {hang}, which still holds the library; \
             check this metric with --isolate"
        ),
    )
}

/// Checks `metric` on `bench` under the supervisor (see the module
/// documentation), telling `progress` each condition as it starts.
pub fn check_supervised(
    metric: &LoadedMetric,
    bench: &Arc<Workbench>,
    progress: &mut dyn FnMut(ConditionId),
) -> Supervised {
    check_supervised_with(metric, bench, None, progress)
}

/// Told of each condition on the thread that runs it, before any call.
pub type OnCondition = Arc<dyn Fn(ConditionId) + Send + Sync>;

/// [`check_supervised`], also telling `direct` each condition on the
/// conditions thread itself, before the condition's first plugin call: a
/// worker process reports the condition before a crash can end it (the
/// supervisor's `progress` may come too late for that).
pub fn check_supervised_with(
    metric: &LoadedMetric,
    bench: &Arc<Workbench>,
    direct: Option<OnCondition>,
    progress: &mut dyn FnMut(ConditionId),
) -> Supervised {
    let gate = metric.library().gate();
    if let Some(hang) = gate.blocked() {
        return Supervised {
            report: blocked_report(metric, bench, &hang),
            hang: None,
        };
    }
    let (tx, rx) = mpsc::channel();
    let worker = {
        let metric = metric.clone();
        let bench = bench.clone();
        std::thread::Builder::new()
            .name(format!("check-{}", metric.id()))
            .spawn(move || {
                let spec = metric.cached_spec().clone();
                let shared: Arc<dyn Metric> = Arc::new(metric);
                let progress_tx = tx.clone();
                let report = check_metric(shared, &spec, &bench, &mut |c| {
                    if let Some(direct) = &direct {
                        direct(c);
                    }
                    let _ = progress_tx.send(Event::Condition(c));
                });
                let _ = tx.send(Event::Done(report));
            })
    };
    if let Err(e) = worker {
        return Supervised {
            report: error_report(
                metric.cached_spec(),
                &bench.settings,
                &format!("cannot start a thread to check the metric: {e}"),
            ),
            hang: None,
        };
    }
    let mut running = None;
    loop {
        match rx.recv_timeout(POLL) {
            Ok(Event::Condition(c)) => {
                running = Some(c);
                progress(c);
            }
            Ok(Event::Done(report)) => {
                // A call of this metric still in flight was given up by its
                // caller (C10's own edge-case timeout): its thread holds the
                // library, which is blocked with it as the culprit.
                let hang = gate.abandoned().filter(|h| is_call_of(h, metric));
                if let Some(h) = &hang {
                    gate.block(h.clone());
                }
                return Supervised { report, hang };
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                if let Some(hang) = gate.overdue().filter(|h| is_call_of(h, metric)) {
                    gate.block(hang.clone());
                    return Supervised {
                        report: hang_report(metric, bench, &hang, running),
                        hang: Some(hang),
                    };
                }
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                return Supervised {
                    report: error_report(
                        metric.cached_spec(),
                        &bench.settings,
                        "the thread checking the metric ended without a report (it panicked)",
                    ),
                    hang: None,
                };
            }
        }
    }
}

/// Runs `f`, which calls `metric`'s plugin, on a thread of its own under
/// the same supervisor: `None` when a call of `metric` overran its limit
/// (the library is then blocked with it as the culprit and the thread
/// abandoned inside the plugin; `f` owns what it reads) or when `f`
/// panicked.
pub fn run_supervised<T: Send + 'static>(
    metric: &LoadedMetric,
    f: impl FnOnce() -> T + Send + 'static,
) -> Option<T> {
    let gate = metric.library().gate();
    let (tx, rx) = mpsc::channel();
    std::thread::Builder::new()
        .name(format!("supervised-{}", metric.id()))
        .spawn(move || {
            let _ = tx.send(f());
        })
        .ok()?;
    loop {
        match rx.recv_timeout(POLL) {
            Ok(value) => return Some(value),
            Err(mpsc::RecvTimeoutError::Disconnected) => return None,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                if let Some(hang) = gate.overdue().filter(|h| is_call_of(h, metric)) {
                    gate.block(hang);
                    return None;
                }
            }
        }
    }
}

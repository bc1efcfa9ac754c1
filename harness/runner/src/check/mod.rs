//! `rdpbench check`: every loaded metric through every condition, over
//! several seeds, into a [`CheckRun`].

use crate::progress::{Progress, UnitKind};
use crate::work_queue::map_indexed;
use anyhow::Result;
use rdpbench_core::conditions::{CheckSettings, ConditionId, MetricReport, Status, Workbench};
use rdpbench_core::shrink::{Budget, failing_verdict, shrink};
use rdpbench_core::toy::ToyConfig;
use rdpbench_plugin_host::supervise::{blocked_report, check_supervised, run_supervised};
use rdpbench_plugin_host::{LoadedMetric, PluginSet};
use rdpbench_schema::results::check::{
    CheckRun, MetricResult, MinimalCase, SCHEMA_VERSION, SeedLadders,
};
use rdpbench_sdk::Metric;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

mod sharded;
pub use sharded::{CheckJobResult, check_plan, merge_check, run_check_shard};

/// Shrinks every condition `result` failed (not the structurally blind
/// ones: those are properties of the metric's inputs) to its smallest
/// failing case.
fn minimal_cases(
    metric: &rdpbench_plugin_host::LoadedMetric,
    result: &MetricResult,
    toy: &ToyConfig,
    settings: &CheckSettings,
) -> Vec<MinimalCase> {
    let budget = Budget {
        trials: settings.shrink_trials,
        time: std::time::Duration::from_secs_f64(settings.shrink_seconds),
    };
    let spec = &result.report.spec;
    result
        .report
        .summary
        .iter()
        .filter(|s| s.status == Status::Fail && !s.structurally_blind)
        .filter_map(|s| {
            let original = failing_verdict(&result.report, s.condition, s.family)?;
            let shared: Arc<dyn Metric> = Arc::new(metric.clone());
            let shrunk = shrink(shared, spec, toy, settings, original, budget)?;
            Some(MinimalCase {
                file: format!(
                    "{}/{}",
                    rdpbench_store::ResultDir::CheckCases.path(),
                    MinimalCase::file_name(&spec.id, &shrunk.case)
                ),
                trials: shrunk.trials,
                timed_out: shrunk.timed_out,
                case: shrunk.case,
            })
        })
        .collect()
}

/// Where each metric's conditions run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Isolation {
    /// In this process (fast; a plugin that segfaults or aborts ends the
    /// run). A call that overruns its limit gives its metric a hang verdict;
    /// the other metrics of its library are then blocked by it.
    #[default]
    InProcess,
    /// In this process, but when a metric's library is blocked by a hung
    /// sibling, the metric is re-checked in a child process of `exe`.
    InProcessWithFallback { exe: PathBuf },
    /// One child process of `exe` per metric (see [`rdpbench_plugin_host::isolate`]): a
    /// crashing plugin costs only its own verdicts.
    Process { exe: PathBuf },
}

/// Runs the conditions on every metric of `plugins`, `jobs` metrics at a time. Plugin load errors are
/// carried into the results; a metric that errors or panics gets error
/// verdicts and the run goes on.
pub fn run_check(
    plugins: &PluginSet,
    toy: &ToyConfig,
    settings: &CheckSettings,
    jobs: usize,
    observer: &mut dyn Progress,
) -> Result<CheckRun> {
    run_check_with(
        plugins,
        toy,
        settings,
        jobs,
        &Isolation::InProcess,
        observer,
    )
}

/// [`run_check`] with a choice of [`Isolation`].
pub fn run_check_with(
    plugins: &PluginSet,
    toy: &ToyConfig,
    settings: &CheckSettings,
    jobs: usize,
    isolation: &Isolation,
    observer: &mut dyn Progress,
) -> Result<CheckRun> {
    observer.phase("building toy models and oracle ladders");
    let bench = Arc::new(Workbench::build(toy, settings)?);
    observer.phase("check");
    let observer = Mutex::new(observer);
    // Metrics of one library run one after the other, in load order (calls
    // into a library are serialised anyway), so that a metric that hangs
    // blocks its siblings only after it was checked, and they can be
    // re-checked in isolation instead of waiting on it. Libraries run in
    // parallel; see `map_indexed` (output independent of scheduling).
    let groups = by_library(&plugins.metrics);
    let grouped = map_indexed(&groups, jobs, |_, group| {
        group
            .iter()
            .map(|&i| {
                (
                    i,
                    check_metric(plugins, i, &bench, toy, settings, isolation, &observer),
                )
            })
            .collect::<Vec<_>>()
    });
    let mut metrics: Vec<(usize, MetricResult)> = grouped.into_iter().flatten().collect();
    metrics.sort_by_key(|(i, _)| *i);
    let mut metrics: Vec<MetricResult> = metrics.into_iter().map(|(_, m)| m).collect();
    // Shrinking runs the metric in this process, so only where the
    // conditions did (an isolated metric may crash the host), and not on a
    // library blocked by a hung call; each metric's shrinking runs under the
    // same call supervisor as its conditions.
    if shrinks(settings, isolation) {
        notify(&observer, |o| {
            o.phase("shrinking failed conditions to their smallest failing cases")
        });
        let cases = map_indexed(&plugins.metrics, jobs, |i, m| {
            shrink_metric(m, &metrics[i], &bench.toy, settings)
        });
        for (result, cases) in metrics.iter_mut().zip(cases) {
            result.minimal_cases = cases;
        }
    }
    Ok(assemble_check(plugins, settings, &bench, metrics))
}

/// Calls `f` on the observer shared by the worker threads.
fn notify(observer: &Mutex<&mut dyn Progress>, f: impl FnOnce(&mut dyn Progress)) {
    let mut guard = observer.lock().unwrap_or_else(|p| p.into_inner());
    f(&mut **guard);
}

/// Metric `i` of `plugins` through every condition of `bench` under
/// `isolation`: its `check.json` entry without minimal cases (those come
/// from [`shrink_metric`]).
fn check_metric(
    plugins: &PluginSet,
    i: usize,
    bench: &Arc<Workbench>,
    toy: &ToyConfig,
    settings: &CheckSettings,
    isolation: &Isolation,
    observer: &Mutex<&mut dyn Progress>,
) -> MetricResult {
    let total = plugins.metrics.len();
    let call_timeout_secs = plugins.call_limits.call.map_or(0.0, |d| d.as_secs_f64());
    let m = &plugins.metrics[i];
    let spec = m.cached_spec().clone();
    notify(observer, |o| o.unit(UnitKind::Metric, i, total, &spec.id));
    let mut progress = |c: ConditionId| {
        let label = format!("{}: {c} {}", spec.id, c.name());
        notify(observer, |o| o.subunit(&label))
    };
    let report = check_one(
        m,
        bench,
        toy,
        settings,
        isolation,
        call_timeout_secs,
        &mut progress,
    );
    let failures = report
        .verdicts
        .iter()
        .filter(|v| v.status.is_failure())
        .count();
    let outcome = format!("{failures} failing verdict(s)");
    notify(observer, |o| o.unit_finished(i, &spec.id, &outcome));
    MetricResult {
        library: m.library().path().to_path_buf(),
        sha256: m.library().sha256().to_string(),
        oracle: spec.is_oracle(),
        report,
        minimal_cases: Vec::new(),
    }
}

/// Whether failed conditions are shrunk under these settings and isolation.
fn shrinks(settings: &CheckSettings, isolation: &Isolation) -> bool {
    settings.shrink_trials > 0 && !matches!(isolation, Isolation::Process { .. })
}

/// The smallest failing cases of `result`'s failed conditions, shrunk on
/// `toy` (the check toy, [`Workbench::toy`]) under the metric's call
/// supervisor; none when its library is blocked by a hung call.
fn shrink_metric(
    m: &LoadedMetric,
    result: &MetricResult,
    toy: &ToyConfig,
    settings: &CheckSettings,
) -> Vec<MinimalCase> {
    if m.library().gate().blocked().is_some() {
        return Vec::new();
    }
    let (metric, result, toy, settings) =
        (m.clone(), result.clone(), toy.clone(), settings.clone());
    run_supervised(m, move || minimal_cases(&metric, &result, &toy, &settings)).unwrap_or_default()
}

/// The [`CheckRun`] of `metrics` (in `plugins.metrics` order) on `bench`.
fn assemble_check(
    plugins: &PluginSet,
    settings: &CheckSettings,
    bench: &Workbench,
    metrics: Vec<MetricResult>,
) -> CheckRun {
    CheckRun {
        schema_version: SCHEMA_VERSION,
        tool: "rdpbench".into(),
        tool_version: crate::VERSION.into(),
        settings: settings.clone(),
        // The check toy actually used (with any appended parent/child families).
        toy: bench.toy.clone(),
        plugins: plugins.records(),
        plugin_errors: plugins.errors.clone(),
        ground_truth: bench
            .seeds
            .iter()
            .map(|s| SeedLadders {
                seed: s.seed,
                ladders: s.ladder_reports.clone(),
            })
            .collect(),
        metrics,
    }
}

/// Indices of `metrics`, grouped by library, groups in order of their first metric.
fn by_library(metrics: &[LoadedMetric]) -> Vec<Vec<usize>> {
    let mut groups: Vec<Vec<usize>> = Vec::new();
    for (i, m) in metrics.iter().enumerate() {
        match groups
            .iter_mut()
            .find(|g| Arc::ptr_eq(metrics[g[0]].library(), m.library()))
        {
            Some(g) => g.push(i),
            None => groups.push(vec![i]),
        }
    }
    groups
}

/// One metric's report under `isolation`.
fn check_one(
    m: &LoadedMetric,
    bench: &Arc<Workbench>,
    toy: &ToyConfig,
    settings: &CheckSettings,
    isolation: &Isolation,
    call_timeout_secs: f64,
    progress: &mut dyn FnMut(ConditionId),
) -> MetricReport {
    let in_worker = |exe: &Path, progress: &mut dyn FnMut(ConditionId)| {
        rdpbench_plugin_host::isolate::check_in_worker(
            exe,
            m.library().path(),
            m.cached_spec(),
            toy,
            settings,
            call_timeout_secs,
            progress,
        )
    };
    match (isolation, m.library().gate().blocked()) {
        (Isolation::Process { exe }, _) => in_worker(exe, progress),
        (Isolation::InProcessWithFallback { exe }, Some(_)) => in_worker(exe, progress),
        (Isolation::InProcess, Some(hang)) => blocked_report(m, bench, &hang),
        (_, None) => check_supervised(m, bench, progress).report,
    }
}

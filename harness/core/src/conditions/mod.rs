//! The necessary conditions C1-C11 (CONDITIONS.md §4), each an independent
//! unit producing verdicts with their evidence.
//!
//! A run builds one [`Workbench`] (toy models, datasets, oracle cases,
//! bootstrap draws: everything that does not depend on the metric), then
//! [`check_metric`] runs each selected condition on one metric. Scores are
//! oriented so that higher = more polysemantic before any comparison.
//!
//! | id | file | kind |
//! |----|------|------|
//! | C1 | `floor.rs` | pooled over seeds, one-sided; reversals Holm-corrected (`rising.rs`) |
//! | C2 | `monotone.rs` | as C1 on each step; ties fail as "flat" |
//! | C3-C6 | `invariance.rs` | exact, with tolerances |
//! | C7 | `splitting.rs` | margin test, three outcomes (`margin.rs`) |
//! | C8 | `cooccurrence.rs` | margin test (common random numbers) |
//! | C9 | `consistency.rs` | replicates at N and 4N; bit-identical repeat |
//! | C10 | `defined.rs` | edge cases with a timeout |
//! | C11 | `density.rs` | margin test (common random numbers) |
//!
//! Bootstrap bounds are basic (bias-corrected) bounds (`stats.rs`); the
//! margin `δ` of C7, C8 and C11 and the step of C9 come from the metric's
//! sensitivity (`sensitivity.rs`). A metric that declares itself undefined
//! on the reference case of an experiment (say, a hierarchy metric on a toy
//! without one) gets "not applicable" there, never FAIL.

mod consistency;
mod cooccurrence;
mod defined;
mod density;
mod floor;
mod invariance;
mod ladder;
pub mod margin;
mod monotone;
mod paired;
mod rising;
pub mod sensitivity;
pub mod settings;
mod splitting;
pub mod stats;
pub mod verdict;
pub mod workbench;

pub use settings::{CheckSettings, Tolerance, Tolerances};
pub use verdict::{Comparison, ConditionId, ConditionSummary, Status, Verdict, summarize};
pub use workbench::{EdgeCase, FAMILIES, Rung, SeedBench, Workbench, check_toy};

use rdpbench_sdk::{Metric, MetricSpec};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// What the conditions read while checking one metric.
pub struct Ctx<'a> {
    pub metric: &'a dyn Metric,
    /// The same metric, shareable with a watchdog thread (C10).
    pub shared: Arc<dyn Metric>,
    pub spec: &'a MetricSpec,
    pub settings: &'a CheckSettings,
    pub bench: &'a Workbench,
}

impl std::fmt::Debug for Ctx<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ctx")
            .field("metric", &self.spec.id)
            .finish_non_exhaustive()
    }
}

/// One metric's verdicts.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MetricReport {
    pub spec: MetricSpec,
    pub verdicts: Vec<Verdict>,
    pub summary: Vec<ConditionSummary>,
}

impl MetricReport {
    /// Whether any verdict failed or errored.
    pub fn has_failures(&self) -> bool {
        self.verdicts.iter().any(|v| v.status.is_failure())
    }

    /// Whether any verdict is inconclusive.
    pub fn has_inconclusive(&self) -> bool {
        self.verdicts
            .iter()
            .any(|v| v.status == Status::Inconclusive)
    }
}

fn selected(settings: &CheckSettings, c: ConditionId) -> bool {
    settings.conditions.is_empty()
        || settings
            .conditions
            .iter()
            .any(|s| ConditionId::parse(s) == Some(c))
}

/// Runs every selected condition on `metric`. `progress` is told each
/// condition as it starts. Never panics on a misbehaving metric: errors,
/// panics and hangs become verdicts.
pub fn check_metric(
    metric: Arc<dyn Metric>,
    spec: &MetricSpec,
    bench: &Workbench,
    progress: &mut dyn FnMut(ConditionId),
) -> MetricReport {
    let settings = &bench.settings;
    let ctx = Ctx {
        metric: &*metric,
        shared: metric.clone(),
        spec,
        settings,
        bench,
    };
    let mut verdicts = Vec::new();
    let skip_all = |verdicts: &mut Vec<Verdict>, reason: &str| {
        for c in ConditionId::ALL {
            if c != ConditionId::C10 && selected(settings, c) {
                verdicts.push(Verdict::new(c, None, None).with(Status::Error, reason.to_string()));
            }
        }
    };
    if selected(settings, ConditionId::C10) {
        progress(ConditionId::C10);
        let (v, hung) = defined::check(&ctx);
        verdicts.push(v);
        if hung {
            skip_all(&mut verdicts, "skipped: the metric hung in C10");
            return finish(spec, verdicts);
        }
    }
    let any = |cs: &[ConditionId]| cs.iter().any(|&c| selected(settings, c));
    use ConditionId::{C1, C2, C7, C8, C9, C11};
    let ladders = if any(&[C1, C2, C7, C8, C9, C11]) {
        progress(ConditionId::C1);
        match bench
            .seeds
            .iter()
            .map(|b| ladder::LadderScores::compute(&ctx, b))
            .collect::<anyhow::Result<Vec<_>>>()
        {
            Ok(l) => l,
            Err(e) => {
                skip_all(
                    &mut verdicts,
                    &format!("the metric failed on the ladder cases: {e:#}"),
                );
                return finish(spec, verdicts);
            }
        }
    } else {
        Vec::new()
    };
    let sens = if any(&[C7, C8, C9, C11]) {
        match sensitivity::Sensitivity::measure(&ctx, &ladders) {
            Ok(s) => s,
            Err(e) => {
                skip_all(
                    &mut verdicts,
                    &format!("the metric failed measuring its steps: {e:#}"),
                );
                return finish(spec, verdicts);
            }
        }
    } else {
        sensitivity::Sensitivity {
            steps: Vec::new(),
            largest: None,
        }
    };
    // M on the independent data at p, on the paired resamples: C8 and C11
    // both compare with it.
    let independent: Vec<Result<paired::CaseScores, String>> = if any(&[C8, C11]) {
        bench
            .seeds
            .iter()
            .map(|b| {
                paired::score_case(&ctx, &b.mono_independent, &b.paired_boot)
                    .map_err(|e| format!("{e:#}"))
            })
            .collect()
    } else {
        Vec::new()
    };
    for c in ConditionId::ALL {
        if c == ConditionId::C10 || !selected(settings, c) {
            continue;
        }
        progress(c);
        verdicts.extend(match c {
            ConditionId::C1 => floor::check(&ctx, &ladders),
            ConditionId::C2 => monotone::check(&ctx, &ladders),
            ConditionId::C3 | ConditionId::C4 | ConditionId::C5 | ConditionId::C6 => {
                invariance::check(&ctx, c)
            }
            ConditionId::C7 => splitting::check(&ctx, &sens, &ladders),
            ConditionId::C8 => cooccurrence::check(&ctx, &sens, &independent),
            ConditionId::C9 => consistency::check(&ctx, &sens),
            ConditionId::C11 => density::check(&ctx, &sens, &independent),
            ConditionId::C10 => unreachable!(),
        });
    }
    finish(spec, verdicts)
}

/// The report of a metric that could not be checked at all (say, its
/// isolated worker process died): one [`Status::Error`] verdict with `reason`
/// for every selected condition.
pub fn error_report(spec: &MetricSpec, settings: &CheckSettings, reason: &str) -> MetricReport {
    let verdicts = ConditionId::ALL
        .into_iter()
        .filter(|&c| selected(settings, c))
        .map(|c| Verdict::new(c, None, None).with(Status::Error, reason.to_string()))
        .collect();
    finish(spec, verdicts)
}

fn finish(spec: &MetricSpec, mut verdicts: Vec<Verdict>) -> MetricReport {
    verdicts.sort_by_key(|v| (v.condition, v.family, v.seed));
    let summary = summarize(&verdicts);
    MetricReport {
        spec: spec.clone(),
        verdicts,
        summary,
    }
}

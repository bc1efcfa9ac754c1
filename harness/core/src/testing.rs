//! The conditions in one call, for a plugin's own `cargo test`:
//!
//! ```text
//! #[test]
//! fn passes_the_invariances() {
//!     let report = rdpbench_core::testing::check(MyMetric, &CheckSettings::quick());
//!     rdpbench_core::testing::assert_passes(&report, &[ConditionId::C3, ConditionId::C4]);
//! }
//! ```
//!
//! Add `rdpbench-core` as a dev-dependency. The same workbench and
//! conditions run as in `rdpbench check`, in-process, on the default toy
//! model.

use crate::conditions::{
    CheckSettings, ConditionId, MetricReport, Status, Workbench, check_metric,
};
use crate::toy::ToyConfig;
use rdpbench_sdk::{Input, Metric, MetricInput, MetricOutput, MetricSpec, Orientation};
use std::sync::Arc;

/// `P_gt` itself, as a metric (an oracle: it reads the concept
/// directions): the reference that passes every condition and cannot be
/// gamed, for tests that need a metric whose verdicts are known.
#[derive(Debug, Clone, Copy, Default)]
pub struct PgtMetric;

impl Metric for PgtMetric {
    fn spec(&self) -> MetricSpec {
        MetricSpec {
            id: "oracle-p-gt-inproc".into(),
            version: "1".into(),
            description: "P_gt".into(),
            citation: "CONDITIONS.md §2".into(),
            orientation: Orientation::HigherIsMorePolysemantic,
            inputs: vec![
                Input::Decoder,
                Input::Codes,
                Input::Labels,
                Input::ConceptDirections,
            ],
            examples: vec![],
        }
    }
    fn compute(&self, x: &MetricInput<'_>) -> anyhow::Result<MetricOutput> {
        let r = crate::toy::p_gt(
            &x.concept_directions()?.to_owned(),
            &x.decoder()?.to_owned(),
            &x.codes()?.to_owned(),
            &x.labels()?.to_owned(),
            &crate::toy::GroundTruthOptions::default(),
        )?;
        Ok(r.p_gt.map_or_else(
            || MetricOutput::undefined("no live latent"),
            MetricOutput::value,
        ))
    }
}

impl CheckSettings {
    /// Smaller settings for unit tests: one seed, 2000 samples, 200
    /// resamples (the spec's minimum), 3 replicates for C9.
    pub fn quick() -> Self {
        Self {
            seeds: vec![0],
            n_samples: 2000,
            consistency_replicates: 3,
            ..Self::default()
        }
    }
}

/// Runs every condition in `settings` on `metric` over the default toy model.
pub fn check(metric: impl Metric + 'static, settings: &CheckSettings) -> MetricReport {
    let bench = Workbench::build(&ToyConfig::default(), settings)
        .expect("the default toy model supports every condition");
    let spec = metric.spec();
    check_metric(Arc::new(metric), &spec, &bench, &mut |_| {})
}

/// Panics, listing the evidence, unless every listed condition passed (or
/// was vacuous) in every verdict.
pub fn assert_passes(report: &MetricReport, conditions: &[ConditionId]) {
    let bad: Vec<String> = report
        .verdicts
        .iter()
        .filter(|v| conditions.contains(&v.condition))
        .filter(|v| !matches!(v.status, Status::Pass | Status::Vacuous))
        .map(|v| {
            format!(
                "{} {} {}: {}",
                v.condition,
                v.scope(),
                v.status.as_str(),
                v.reason
            )
        })
        .collect();
    assert!(
        bad.is_empty(),
        "metric `{}` did not pass:\n{}",
        report.spec.id,
        bad.join("\n")
    );
    for c in conditions {
        assert!(
            report.verdicts.iter().any(|v| v.condition == *c),
            "condition {c} was not run"
        );
    }
}

/// Panics unless `condition` failed in at least one verdict.
pub fn assert_fails(report: &MetricReport, condition: ConditionId) {
    assert!(
        report
            .verdicts
            .iter()
            .any(|v| v.condition == condition && v.status == Status::Fail),
        "metric `{}` was expected to fail {condition}; verdicts: {:#?}",
        report.spec.id,
        report
            .verdicts
            .iter()
            .filter(|v| v.condition == condition)
            .collect::<Vec<_>>()
    );
}

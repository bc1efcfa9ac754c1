//! The checker against metrics whose verdicts are known: the oracle `P_gt`
//! run as a metric must pass C1-C7 and C11 on every ladder family; a metric
//! that depends on latent order must fail C3 and only because of it; a
//! metric that reads only the firing rate must fail C11.

use rdpbench_core::conditions::{CheckSettings, ConditionId, Status};
use rdpbench_core::testing::{PgtMetric as OraclePgt, assert_fails, assert_passes, check};
use rdpbench_sdk::prelude::*;

/// Weighted by latent index: depends on the arbitrary latent order.
struct IndexWeightedPgt;
impl Metric for IndexWeightedPgt {
    fn spec(&self) -> MetricSpec {
        MetricSpec {
            id: "index-weighted".into(),
            ..OraclePgt.spec()
        }
    }
    fn compute(&self, x: &MetricInput<'_>) -> anyhow::Result<MetricOutput> {
        let base = OraclePgt.compute(x)?.as_value().unwrap_or(0.0);
        let w = x.decoder()?;
        // Adds the first decoder coordinate of latent 0: changes under permutation.
        Ok(MetricOutput::value(base + 0.1 * w.get(0, 0).abs() as f64))
    }
}

/// Fraction of (token, latent) pairs that fire: reads only the rate.
struct Density;
impl Metric for Density {
    fn spec(&self) -> MetricSpec {
        MetricSpec {
            id: "density".into(),
            inputs: vec![Input::Codes],
            ..OraclePgt.spec()
        }
    }
    fn compute(&self, x: &MetricInput<'_>) -> anyhow::Result<MetricOutput> {
        let c = x.codes()?;
        if c.n_rows == 0 || c.n_cols == 0 {
            return Ok(MetricOutput::undefined("empty"));
        }
        Ok(MetricOutput::value(c.nnz() as f64 / c.n_rows as f64))
    }
}

#[test]
fn oracle_p_gt_passes_c1_to_c7_and_c11_on_every_family() {
    let report = check(OraclePgt, &CheckSettings::quick());
    use ConditionId::*;
    assert_passes(&report, &[C1, C2, C3, C4, C5, C6, C7, C11]);
    for family in rdpbench_core::conditions::FAMILIES {
        assert!(
            report
                .verdicts
                .iter()
                .any(|v| v.condition == C1 && v.family == Some(family) && v.status == Status::Pass),
            "C1 ran and passed on {family}"
        );
    }
}

#[test]
fn order_dependent_metric_fails_c3_with_evidence() {
    let settings = CheckSettings {
        conditions: vec!["C3".into(), "C4".into(), "C6".into()],
        ..CheckSettings::quick()
    };
    let report = check(IndexWeightedPgt, &settings);
    assert_fails(&report, ConditionId::C3);
    let v = report
        .verdicts
        .iter()
        .find(|v| v.condition == ConditionId::C3)
        .unwrap();
    assert!(
        v.reason.contains("permute") || v.reason.contains("reverse"),
        "{}",
        v.reason
    );
    assert!(
        v.evidence
            .iter()
            .any(|c| c.diff.is_some_and(|d| d.abs() > 1e-6))
    );
}

#[test]
fn rate_only_metric_fails_c11() {
    let settings = CheckSettings {
        conditions: vec!["C11".into()],
        ..CheckSettings::quick()
    };
    let report = check(Density, &settings);
    assert_fails(&report, ConditionId::C11);
}

#[test]
fn same_seed_gives_identical_verdicts() {
    let settings = CheckSettings {
        conditions: vec!["C1".into(), "C7".into(), "C9".into()],
        ..CheckSettings::quick()
    };
    let a = serde_json::to_string(&check(Density, &settings)).unwrap();
    let b = serde_json::to_string(&check(Density, &settings)).unwrap();
    assert_eq!(a, b);
}

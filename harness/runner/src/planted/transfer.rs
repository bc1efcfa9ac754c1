//! Experiment 2 (validity transfer): Spearman ρ between each metric and
//! `P_gt^planted` over the SAEs trained on planted data, beside the same
//! metric's ρ with `P_gt` over the toy validity population (same
//! configurations), and a verdict.
//!
//! Verdict, from the two bootstrap intervals:
//! - **transfers**: both exclude 0 on the same side;
//! - **does not transfer**: the toy interval excludes 0 and the planted one
//!   excludes it on the other side, or the two intervals are disjoint;
//! - **undecided**: anything else (an interval holds 0 while they overlap,
//!   or a ρ or interval is undefined).

use crate::validity::{SaeScore, score_metric, spearman_with_ci};
use rdpbench_core::toy::EvalCase;
use rdpbench_plugin_host::LoadedMetric;
use rdpbench_schema::results::planted::{MetricTransfer, PlantedSaeRow, TransferVerdict};
use rdpbench_schema::results::validity::{RhoEstimate, ValidityRun};
use rdpbench_schema::settings::PlantedSettings;

/// The verdict of the module docs.
pub fn verdict(toy: Option<[f64; 2]>, planted: Option<[f64; 2]>) -> TransferVerdict {
    let side = |ci: [f64; 2]| {
        if ci[0] > 0.0 {
            1
        } else if ci[1] < 0.0 {
            -1
        } else {
            0
        }
    };
    match (toy, planted) {
        (Some(t), Some(p)) => {
            let (st, sp) = (side(t), side(p));
            if st != 0 && st == sp {
                TransferVerdict::Transfers
            } else if (st != 0 && sp == -st) || t[1] < p[0] || p[1] < t[0] {
                TransferVerdict::DoesNotTransfer
            } else {
                TransferVerdict::Undecided
            }
        }
        _ => TransferVerdict::Undecided,
    }
}

/// One metric's scores on the planted population, its ρ and verdict.
pub fn transfer(
    metric: &LoadedMetric,
    cases: &[EvalCase],
    rows: &[PlantedSaeRow],
    toy: Option<&ValidityRun>,
    settings: &PlantedSettings,
) -> MetricTransfer {
    let spec = metric.cached_spec();
    let scores: Vec<SaeScore> = cases.iter().map(|c| score_metric(metric, c)).collect();
    let (mut xs, mut ys) = (Vec::new(), Vec::new());
    for (s, r) in scores.iter().zip(rows) {
        if let (Some(m), Some(p)) = (s.value(), r.planted.p_gt) {
            xs.push(m);
            ys.push(p);
        }
    }
    let planted: RhoEstimate = spearman_with_ci(
        &xs,
        &ys,
        settings.bootstrap_resamples,
        settings.confidence,
        settings.seed,
    );
    let toy_rho = toy
        .and_then(|v| v.metrics.iter().find(|m| m.id == spec.id))
        .map(|m| m.rho.clone());
    MetricTransfer {
        id: spec.id.clone(),
        version: spec.version.clone(),
        oracle: spec.is_oracle(),
        verdict: verdict(toy_rho.as_ref().and_then(|r| r.ci), planted.ci),
        toy: toy_rho,
        planted,
        scores,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdicts_follow_the_intervals() {
        use TransferVerdict::*;
        assert_eq!(verdict(Some([0.5, 0.9]), Some([0.2, 0.8])), Transfers);
        assert_eq!(verdict(Some([-0.9, -0.5]), Some([-0.6, -0.1])), Transfers);
        assert_eq!(
            verdict(Some([0.5, 0.9]), Some([-0.8, -0.2])),
            DoesNotTransfer
        );
        // Disjoint although the planted one holds 0.
        assert_eq!(
            verdict(Some([0.6, 0.9]), Some([-0.3, 0.4])),
            DoesNotTransfer
        );
        // Overlapping, the planted interval holds 0.
        assert_eq!(verdict(Some([0.3, 0.9]), Some([-0.1, 0.5])), Undecided);
        // No toy validity to transfer, overlapping.
        assert_eq!(verdict(Some([-0.2, 0.3]), Some([0.1, 0.6])), Undecided);
        assert_eq!(verdict(None, Some([0.1, 0.6])), Undecided);
        assert_eq!(verdict(Some([0.1, 0.6]), None), Undecided);
    }
}

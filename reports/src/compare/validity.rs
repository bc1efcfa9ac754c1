//! Validity deltas between two `validity.json` runs: per metric, Spearman
//! ρ(score, `P_gt`) in A and in B, `Δρ = ρ_B − ρ_A`, and whether the change
//! is outside the noise band.
//!
//! **Noise band.** Each run stores a percentile-bootstrap interval of its ρ
//! (`[lo, hi]` at the run's `[validity].confidence`, 95% by default, over
//! resamples of the SAEs). A change is *significant* exactly when both
//! intervals exist and do not overlap: `hi_B < lo_A` (ρ dropped) or
//! `hi_A < lo_B` (ρ rose). Touching intervals (`hi_B == lo_A`) overlap.
//! Non-overlap of two 95% intervals is a conservative test (for two
//! independent, roughly normal estimates with equal widths it corresponds
//! to p ≈ 0.006), so a flagged change is a real one; a change inside the
//! band may still be real but is not distinguishable from resampling noise
//! with the data the runs carry. Where either side has no ρ or no interval
//! the row says so and is never significant.

use rdpbench_schema::results::validity::{MetricValidity, ValidityRun};
use serde::Serialize;

/// What happened to one metric's ρ.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RhoChange {
    /// Intervals disjoint, ρ_B below ρ_A: the metric tracks `P_gt` worse.
    Dropped,
    /// Intervals disjoint, ρ_B above ρ_A.
    Rose,
    /// Intervals overlap.
    WithinNoise,
    /// ρ or its interval is undefined on at least one side.
    Undefined,
    /// Metric only in run A.
    OnlyInA,
    /// Metric only in run B.
    OnlyInB,
}

impl RhoChange {
    pub fn as_str(self) -> &'static str {
        match self {
            RhoChange::Dropped => "DROPPED",
            RhoChange::Rose => "rose",
            RhoChange::WithinNoise => "within noise",
            RhoChange::Undefined => "undefined",
            RhoChange::OnlyInA => "only in A",
            RhoChange::OnlyInB => "only in B",
        }
    }
}

/// One run's ρ of one metric.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct RhoSide {
    pub rho: Option<f64>,
    /// Bootstrap interval `[lo, hi]`.
    pub ci: Option<[f64; 2]>,
    /// SAEs the ρ was computed over.
    pub n: usize,
}

impl RhoSide {
    fn of(m: &MetricValidity) -> Self {
        Self {
            rho: m.rho.rho,
            ci: m.rho.ci,
            n: m.rho.n,
        }
    }
}

/// One metric's row.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RhoDelta {
    pub metric: String,
    pub oracle: bool,
    pub a: Option<RhoSide>,
    pub b: Option<RhoSide>,
    /// `ρ_B − ρ_A` where both are defined.
    pub delta: Option<f64>,
    pub change: RhoChange,
}

impl RhoDelta {
    /// Whether the change is outside the noise band (either direction).
    pub fn significant(&self) -> bool {
        matches!(self.change, RhoChange::Dropped | RhoChange::Rose)
    }
}

/// The validity section of a comparison.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ValidityComparison {
    /// Metrics of A (in A's order), then those only in B.
    pub rows: Vec<RhoDelta>,
    /// The interval levels of A and B (`[validity].confidence`).
    pub confidence: [f64; 2],
    /// Differences in how the two populations were made.
    pub notes: Vec<String>,
}

impl ValidityComparison {
    /// Metrics whose ρ dropped beyond the noise band.
    pub fn dropped(&self) -> usize {
        self.rows
            .iter()
            .filter(|r| r.change == RhoChange::Dropped)
            .count()
    }
}

/// Classifies one metric's change by the interval rule of the module doc.
pub fn classify_rho(a: &RhoSide, b: &RhoSide) -> RhoChange {
    match (a.rho, b.rho, a.ci, b.ci) {
        (Some(_), Some(_), Some([a_lo, a_hi]), Some([b_lo, b_hi])) => {
            if b_hi < a_lo {
                RhoChange::Dropped
            } else if a_hi < b_lo {
                RhoChange::Rose
            } else {
                RhoChange::WithinNoise
            }
        }
        _ => RhoChange::Undefined,
    }
}

/// Compares the ρ of every metric of `a` and `b`.
pub fn compare_validity(a: &ValidityRun, b: &ValidityRun) -> ValidityComparison {
    let mut rows = Vec::with_capacity(a.metrics.len());
    for ma in &a.metrics {
        let sa = RhoSide::of(ma);
        let row = match b.metric(&ma.id) {
            Some(mb) => {
                let sb = RhoSide::of(mb);
                RhoDelta {
                    metric: ma.id.clone(),
                    oracle: ma.oracle || mb.oracle,
                    a: Some(sa),
                    b: Some(sb),
                    delta: sa.rho.zip(sb.rho).map(|(ra, rb)| rb - ra),
                    change: classify_rho(&sa, &sb),
                }
            }
            None => RhoDelta {
                metric: ma.id.clone(),
                oracle: ma.oracle,
                a: Some(sa),
                b: None,
                delta: None,
                change: RhoChange::OnlyInA,
            },
        };
        rows.push(row);
    }
    for mb in b.metrics.iter().filter(|m| a.metric(&m.id).is_none()) {
        rows.push(RhoDelta {
            metric: mb.id.clone(),
            oracle: mb.oracle,
            a: None,
            b: Some(RhoSide::of(mb)),
            delta: None,
            change: RhoChange::OnlyInB,
        });
    }
    let mut notes = Vec::new();
    if a.population.len() != b.population.len() {
        notes.push(format!(
            "validity populations differ in size: {} vs {} SAEs",
            a.population.len(),
            b.population.len()
        ));
    }
    if a.settings != b.settings {
        notes.push("[validity] settings differ: ρ is over different populations".into());
    }
    for mb in &b.metrics {
        if let Some(ma) = a.metric(&mb.id)
            && ma.sha256 != mb.sha256
        {
            notes.push(format!(
                "metric `{}`: plugin library changed between the validity runs",
                mb.id
            ));
        }
    }
    ValidityComparison {
        rows,
        confidence: [a.settings.confidence, b.settings.confidence],
        notes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn side(rho: f64, lo: f64, hi: f64) -> RhoSide {
        RhoSide {
            rho: Some(rho),
            ci: Some([lo, hi]),
            n: 20,
        }
    }

    #[test]
    fn disjoint_intervals_are_a_change_overlapping_or_touching_are_not() {
        let a = side(0.8, 0.7, 0.9);
        assert_eq!(classify_rho(&a, &side(0.4, 0.3, 0.6)), RhoChange::Dropped);
        assert_eq!(classify_rho(&side(0.4, 0.3, 0.6), &a), RhoChange::Rose);
        // Δρ = −0.2 but the intervals overlap on [0.7, 0.75].
        assert_eq!(
            classify_rho(&a, &side(0.6, 0.45, 0.75)),
            RhoChange::WithinNoise
        );
        // Touching at 0.7 counts as overlapping.
        assert_eq!(
            classify_rho(&a, &side(0.6, 0.5, 0.7)),
            RhoChange::WithinNoise
        );
    }

    #[test]
    fn a_missing_rho_or_interval_is_never_significant() {
        let a = side(0.8, 0.7, 0.9);
        let no_ci = RhoSide {
            rho: Some(-0.9),
            ci: None,
            n: 20,
        };
        let no_rho = RhoSide {
            rho: None,
            ci: None,
            n: 1,
        };
        assert_eq!(classify_rho(&a, &no_ci), RhoChange::Undefined);
        assert_eq!(classify_rho(&no_rho, &a), RhoChange::Undefined);
    }
}

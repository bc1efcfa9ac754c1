//! Runtime deltas between two `bench.json` runs: per metric × size
//! `(N, d_sae)`, criterion's median time per call in A and in B, the ratio
//! `r = median_B / median_A`, and whether the change is significant.
//!
//! **Significance.** criterion stores, per benchmark, a bootstrap confidence
//! interval of the median (`[lo, hi]`, 95% by default). A change is
//! significant exactly when both hold:
//! 1. the intervals are disjoint: `lo_B > hi_A` (slower) or `hi_B < lo_A`
//!    (faster); touching intervals overlap;
//! 2. `|r − 1| > t`, the noise threshold (`--noise-threshold`, default
//!    0.05: criterion's own default noise threshold is 0.01, but two
//!    separate runs on a shared machine differ by more than that).
//!
//! Condition 2 keeps a tiny but tightly measured change from being
//! flagged; condition 1 keeps a large change measured with wide intervals
//! from being flagged. A size timed on one side only, or errored (not
//! timed) on a side, is listed with what is missing and never significant.

use rdpbench_schema::results::bench::{BenchRun, SizeResult};
use serde::Serialize;

/// The default noise threshold `t` (relative change of the median).
pub const DEFAULT_NOISE_THRESHOLD: f64 = 0.05;

/// What happened to one (metric, size)'s runtime.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RuntimeChange {
    /// Significantly slower in B.
    Slower,
    /// Significantly faster in B.
    Faster,
    /// Intervals overlap or the change is below the noise threshold.
    WithinNoise,
    /// Not timed (error) or without an interval on at least one side.
    NotTimed,
    /// Size measured in run A only.
    OnlyInA,
    /// Size measured in run B only.
    OnlyInB,
}

impl RuntimeChange {
    pub fn as_str(self) -> &'static str {
        match self {
            RuntimeChange::Slower => "SLOWER",
            RuntimeChange::Faster => "faster",
            RuntimeChange::WithinNoise => "within noise",
            RuntimeChange::NotTimed => "not timed",
            RuntimeChange::OnlyInA => "only in A",
            RuntimeChange::OnlyInB => "only in B",
        }
    }
}

/// One run's timing of one (metric, size): median and its interval, ns.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct TimingSide {
    pub median_ns: Option<f64>,
    pub ci_ns: Option<[f64; 2]>,
}

impl TimingSide {
    fn of(s: &SizeResult) -> Self {
        Self {
            median_ns: s.median_ns,
            ci_ns: s
                .median_ci_low_ns
                .zip(s.median_ci_high_ns)
                .map(|(l, h)| [l, h]),
        }
    }
}

/// One (metric, size) row.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RuntimeDelta {
    pub metric: String,
    pub oracle: bool,
    pub n_tokens: usize,
    pub d_sae: usize,
    pub a: Option<TimingSide>,
    pub b: Option<TimingSide>,
    /// `median_B / median_A` where both are positive.
    pub ratio: Option<f64>,
    pub change: RuntimeChange,
}

impl RuntimeDelta {
    /// Whether the change is significant (either direction).
    pub fn significant(&self) -> bool {
        matches!(self.change, RuntimeChange::Slower | RuntimeChange::Faster)
    }
}

/// The runtime section of a comparison.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RuntimeComparison {
    /// The noise threshold `t` used.
    pub noise_threshold: f64,
    /// A's metrics and sizes in A's order, then what only B has.
    pub rows: Vec<RuntimeDelta>,
    /// Differences in how the runs were measured.
    pub notes: Vec<String>,
}

impl RuntimeComparison {
    /// Rows significantly slower in B.
    pub fn slower(&self) -> usize {
        self.count(RuntimeChange::Slower)
    }
    pub fn faster(&self) -> usize {
        self.count(RuntimeChange::Faster)
    }
    fn count(&self, c: RuntimeChange) -> usize {
        self.rows.iter().filter(|r| r.change == c).count()
    }
}

/// Classifies one change by the rule of the module doc.
pub fn classify_runtime(a: &TimingSide, b: &TimingSide, noise_threshold: f64) -> RuntimeChange {
    let (Some(ma), Some(mb), Some([a_lo, a_hi]), Some([b_lo, b_hi])) =
        (a.median_ns, b.median_ns, a.ci_ns, b.ci_ns)
    else {
        return RuntimeChange::NotTimed;
    };
    if ma <= 0.0 || !ma.is_finite() || !mb.is_finite() {
        return RuntimeChange::NotTimed;
    }
    let beyond_threshold = ((mb / ma) - 1.0).abs() > noise_threshold;
    if b_lo > a_hi && beyond_threshold {
        RuntimeChange::Slower
    } else if b_hi < a_lo && beyond_threshold {
        RuntimeChange::Faster
    } else {
        RuntimeChange::WithinNoise
    }
}

/// Compares every (metric, size) of `a` and `b`; `noise_threshold` is `t`.
pub fn compare_runtime(a: &BenchRun, b: &BenchRun, noise_threshold: f64) -> RuntimeComparison {
    let find = |run: &BenchRun, metric: &str, s: &SizeResult| {
        run.metrics
            .iter()
            .find(|m| m.metric == metric)
            .and_then(|m| {
                m.sizes
                    .iter()
                    .find(|x| x.n_tokens == s.n_tokens && x.d_sae == s.d_sae)
            })
            .cloned()
    };
    let mut rows = Vec::new();
    for ma in &a.metrics {
        let oracle_b = b.metrics.iter().any(|m| m.metric == ma.metric && m.oracle);
        for sa in &ma.sizes {
            let ta = TimingSide::of(sa);
            let row = match find(b, &ma.metric, sa) {
                Some(sb) => {
                    let tb = TimingSide::of(&sb);
                    RuntimeDelta {
                        metric: ma.metric.clone(),
                        oracle: ma.oracle || oracle_b,
                        n_tokens: sa.n_tokens,
                        d_sae: sa.d_sae,
                        a: Some(ta),
                        b: Some(tb),
                        ratio: ta
                            .median_ns
                            .zip(tb.median_ns)
                            .filter(|(x, y)| *x > 0.0 && *y > 0.0)
                            .map(|(x, y)| y / x),
                        change: classify_runtime(&ta, &tb, noise_threshold),
                    }
                }
                None => RuntimeDelta {
                    metric: ma.metric.clone(),
                    oracle: ma.oracle,
                    n_tokens: sa.n_tokens,
                    d_sae: sa.d_sae,
                    a: Some(ta),
                    b: None,
                    ratio: None,
                    change: RuntimeChange::OnlyInA,
                },
            };
            rows.push(row);
        }
    }
    for mb in &b.metrics {
        for sb in &mb.sizes {
            if find(a, &mb.metric, sb).is_none() {
                rows.push(RuntimeDelta {
                    metric: mb.metric.clone(),
                    oracle: mb.oracle,
                    n_tokens: sb.n_tokens,
                    d_sae: sb.d_sae,
                    a: None,
                    b: Some(TimingSide::of(sb)),
                    ratio: None,
                    change: RuntimeChange::OnlyInB,
                });
            }
        }
    }
    let mut notes = Vec::new();
    let (sa, sb) = (&a.settings, &b.settings);
    if (sa.sample_size, sa.measurement_secs, sa.warm_up_secs)
        != (sb.sample_size, sb.measurement_secs, sb.warm_up_secs)
    {
        notes.push(format!(
            "criterion settings differ: sample_size {} vs {}, measurement {} s vs {} s, warm-up {} s vs {} s",
            sa.sample_size,
            sb.sample_size,
            sa.measurement_secs,
            sb.measurement_secs,
            sa.warm_up_secs,
            sb.warm_up_secs
        ));
    }
    if a.saes
        .iter()
        .map(|s| &s.architecture)
        .ne(b.saes.iter().map(|s| &s.architecture))
    {
        notes.push("benchmark SAEs differ in architecture".into());
    }
    for mb in &b.metrics {
        if let Some(ma) = a.metrics.iter().find(|m| m.metric == mb.metric)
            && ma.sha256 != mb.sha256
        {
            notes.push(format!(
                "metric `{}`: plugin library changed between the benchmark runs",
                mb.metric
            ));
        }
    }
    RuntimeComparison {
        noise_threshold,
        rows,
        notes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(median: f64, lo: f64, hi: f64) -> TimingSide {
        TimingSide {
            median_ns: Some(median),
            ci_ns: Some([lo, hi]),
        }
    }

    #[test]
    fn a_slowdown_needs_disjoint_intervals_and_a_change_above_the_threshold() {
        let a = t(100.0, 98.0, 102.0);
        // 2x, disjoint.
        assert_eq!(
            classify_runtime(&a, &t(200.0, 195.0, 205.0), 0.05),
            RuntimeChange::Slower
        );
        assert_eq!(
            classify_runtime(&t(200.0, 195.0, 205.0), &a, 0.05),
            RuntimeChange::Faster
        );
        // 2x but the intervals overlap (wide B).
        assert_eq!(
            classify_runtime(&a, &t(200.0, 101.0, 400.0), 0.05),
            RuntimeChange::WithinNoise
        );
        // Disjoint but only +4% < 5%.
        assert_eq!(
            classify_runtime(&a, &t(104.0, 103.5, 104.5), 0.05),
            RuntimeChange::WithinNoise
        );
        // The same +4% with a 3% threshold is a slowdown.
        assert_eq!(
            classify_runtime(&a, &t(104.0, 103.5, 104.5), 0.03),
            RuntimeChange::Slower
        );
    }

    #[test]
    fn an_untimed_side_is_never_significant() {
        let none = TimingSide {
            median_ns: None,
            ci_ns: None,
        };
        assert_eq!(
            classify_runtime(&t(1.0, 0.9, 1.1), &none, 0.05),
            RuntimeChange::NotTimed
        );
    }
}

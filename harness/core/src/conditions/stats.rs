//! Small statistics for the conditions: percentiles, the normal quantile,
//! means and standard errors, bootstrap row draws. All in f64, all
//! deterministic given a seed.

use crate::rng::Rng;

/// Mean of `xs` (0 for an empty slice).
pub fn mean(xs: &[f64]) -> f64 {
    if xs.is_empty() {
        return 0.0;
    }
    xs.iter().sum::<f64>() / xs.len() as f64
}

/// Unbiased sample variance (0 for fewer than two values).
pub fn variance(xs: &[f64]) -> f64 {
    if xs.len() < 2 {
        return 0.0;
    }
    let m = mean(xs);
    xs.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (xs.len() - 1) as f64
}

/// The `q`-quantile (0 ≤ q ≤ 1) of `xs` by linear interpolation between
/// order statistics (Hyndman-Fan type 7, numpy's default).
pub fn quantile(xs: &[f64], q: f64) -> f64 {
    assert!(!xs.is_empty(), "quantile of an empty sample");
    let mut s = xs.to_vec();
    s.sort_by(f64::total_cmp);
    let h = (s.len() - 1) as f64 * q.clamp(0.0, 1.0);
    let (lo, hi) = (h.floor() as usize, h.ceil() as usize);
    s[lo] + (h - lo as f64) * (s[hi] - s[lo])
}

/// Inverse of the standard normal CDF, Φ⁻¹(p) for 0 < p < 1 (Acklam's
/// rational approximation, relative error < 1.2e-9).
pub fn normal_quantile(p: f64) -> f64 {
    assert!(
        p > 0.0 && p < 1.0,
        "normal_quantile needs 0 < p < 1, got {p}"
    );
    const A: [f64; 6] = [
        -3.969683028665376e+01,
        2.209460984245205e+02,
        -2.759285104469687e+02,
        1.38357751867269e+02,
        -3.066479806614716e+01,
        2.506628277459239e+00,
    ];
    const B: [f64; 5] = [
        -5.447609879822406e+01,
        1.615858368580409e+02,
        -1.556989798598866e+02,
        6.680131188771972e+01,
        -1.328068155288572e+01,
    ];
    const C: [f64; 6] = [
        -7.784894002430293e-03,
        -3.223964580411365e-01,
        -2.400758277161838e+00,
        -2.549732539343734e+00,
        4.374664141464968e+00,
        2.938163982698783e+00,
    ];
    const D: [f64; 4] = [
        7.784695709041462e-03,
        3.224671290700398e-01,
        2.445134137142996e+00,
        3.754408661907416e+00,
    ];
    let p_low = 0.02425;
    if p < p_low {
        let q = (-2.0 * p.ln()).sqrt();
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    } else if p <= 1.0 - p_low {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    } else {
        -normal_quantile(1.0 - p)
    }
}

/// `count` bootstrap draws of `n` row indices each, with replacement,
/// from a stream derived from `seed` and `tag`.
pub fn bootstrap_rows(n: usize, count: usize, seed: u64, tag: u64) -> Vec<Vec<usize>> {
    (0..count)
        .map(|b| {
            let mut rng = Rng::derive(seed, &[tag, b as u64]);
            (0..n).map(|_| rng.below(n as u64) as usize).collect()
        })
        .collect()
}

/// A bootstrap distribution of an estimate, read with the **basic**
/// (reverse-percentile) method: the distribution of `θ̂ − θ` is taken to be
/// that of `θ*_b − θ̂`, so the bounds are reflected about the estimate,
///
/// `lower(α) = 2θ̂ − Q(1 − α)`, `upper(α) = 2θ̂ − Q(α)`,
///
/// with `Q` the type-7 quantile of the replicates `θ*_b`. Unlike a plain
/// percentile interval this corrects the bootstrap bias of plug-in
/// estimators (an entropy estimated on a resample with repeated rows is
/// biased further than the estimate itself), so the interval cannot sit
/// wholly on one side of its estimate because of that bias. The bias
/// `mean(θ*) − θ̂` is recorded beside every interval.
///
/// Levels finer than the resamples can resolve (`α < 1/B`) read the extreme
/// replicate; a boundary beyond every replicate has p-value 0.
#[derive(Debug, Clone, PartialEq)]
pub struct BasicBootstrap {
    /// `θ̂`, on the full data.
    pub estimate: f64,
    /// The replicates `θ*_b`, in draw order (pooling pairs seeds by draw).
    draws: Vec<f64>,
    /// The same, sorted ascending.
    sorted: Vec<f64>,
}

impl BasicBootstrap {
    /// `estimate` and its replicates (any order; at least one).
    pub fn new(estimate: f64, replicates: Vec<f64>) -> Self {
        assert!(!replicates.is_empty(), "a bootstrap needs replicates");
        let mut sorted = replicates.clone();
        sorted.sort_by(f64::total_cmp);
        Self {
            estimate,
            draws: replicates,
            sorted,
        }
    }

    /// Replicates.
    pub fn len(&self) -> usize {
        self.sorted.len()
    }

    pub fn is_empty(&self) -> bool {
        self.sorted.is_empty()
    }

    /// `mean(θ*) − θ̂`.
    pub fn bias(&self) -> f64 {
        mean(&self.sorted) - self.estimate
    }

    /// One-sided lower bound at level `α` (`θ > lower` with confidence `1 − α`).
    pub fn lower(&self, alpha: f64) -> f64 {
        2.0 * self.estimate - quantile(&self.sorted, 1.0 - alpha)
    }

    /// One-sided upper bound at level `α`.
    pub fn upper(&self, alpha: f64) -> f64 {
        2.0 * self.estimate - quantile(&self.sorted, alpha)
    }

    /// Two-sided interval at level `α` (`α/2` in each tail).
    pub fn interval(&self, alpha: f64) -> (f64, f64) {
        (self.lower(alpha / 2.0), self.upper(alpha / 2.0))
    }

    /// The smallest level at which `lower(α) > c`: the one-sided p-value of
    /// `H0: θ ≤ c`. Exactly consistent with [`Self::lower`]: `p < α ⇔ lower(α) > c`
    /// (up to interpolation at ties).
    pub fn p_greater(&self, c: f64) -> f64 {
        // lower(α) > c ⇔ Q(1 − α) < t with t = 2θ̂ − c.
        let t = 2.0 * self.estimate - c;
        1.0 - self.cdf_below(t)
    }

    /// The smallest level at which `upper(α) < c`: the one-sided p-value of
    /// `H0: θ ≥ c`.
    pub fn p_less(&self, c: f64) -> f64 {
        // upper(α) < c ⇔ Q(α) > t with t = 2θ̂ − c.
        let t = 2.0 * self.estimate - c;
        self.cdf_above(t)
    }

    /// `sup { q : Q(q) < t }`, inverting the piecewise-linear type-7 quantile.
    fn cdf_below(&self, t: f64) -> f64 {
        let s = &self.sorted;
        let n = s.len();
        if n == 1 || t <= s[0] {
            return if n == 1 && t > s[0] { 1.0 } else { 0.0 };
        }
        if t > s[n - 1] {
            return 1.0;
        }
        // Largest i with s[i] < t; then s[i + 1] ≥ t.
        let i = s.partition_point(|&x| x < t) - 1;
        let h = i as f64 + (t - s[i]) / (s[i + 1] - s[i]);
        h / (n - 1) as f64
    }

    /// `inf { q : Q(q) > t }`.
    fn cdf_above(&self, t: f64) -> f64 {
        let s = &self.sorted;
        let n = s.len();
        if n == 1 || t >= s[n - 1] {
            return if n == 1 && t < s[0] { 0.0 } else { 1.0 };
        }
        if t < s[0] {
            return 0.0;
        }
        // Smallest j with s[j] > t; then s[j − 1] ≤ t.
        let j = s.partition_point(|&x| x <= t);
        let h = (j - 1) as f64 + (t - s[j - 1]) / (s[j] - s[j - 1]);
        h / (n - 1) as f64
    }

    /// The average of several independent replicates of the same quantity
    /// (one per seed): estimate `mean_s θ̂_s`, replicate `b` is
    /// `mean_s θ*_{s,b}` (each seed resampled on its own rows), for `b` up to
    /// the smallest part's replicate count.
    pub fn pooled(parts: &[&BasicBootstrap]) -> Self {
        assert!(!parts.is_empty(), "pooling needs at least one part");
        let b = parts.iter().map(|p| p.len()).min().unwrap_or(0);
        let k = parts.len() as f64;
        let estimate = parts.iter().map(|p| p.estimate).sum::<f64>() / k;
        // Seeds are independent, so pairing their draws by index is a
        // random pairing (pairing sorted replicates would not be).
        let reps = (0..b)
            .map(|i| parts.iter().map(|p| p.draws[i]).sum::<f64>() / k)
            .collect();
        Self::new(estimate, reps)
    }
}

/// Holm–Bonferroni step-down at family-wise level `alpha`: which of the
/// hypotheses with p-values `p` are rejected. Sorted ascending, `p_(i)` is
/// rejected while `p_(i) ≤ α / (m − i)` (0-based `i`), stopping at the first
/// that is not.
pub fn holm(p: &[f64], alpha: f64) -> Vec<bool> {
    let m = p.len();
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by(|&a, &b| p[a].total_cmp(&p[b]));
    let mut reject = vec![false; m];
    for (i, &k) in order.iter().enumerate() {
        if p[k] <= alpha / (m - i) as f64 {
            reject[k] = true;
        } else {
            break;
        }
    }
    reject
}

/// The sample size at which an interval of half-width `half_width`
/// measured at `n` samples, centred at `center`, would clear the boundary
/// `±margin` on the side it lies (widths shrink as `1/√N`): `n · (w / gap)²`
/// with `gap = | |center| − margin |`. `None` when the centre sits on the
/// boundary (no sample size resolves it).
pub fn samples_to_resolve(center: f64, half_width: f64, margin: f64, n: usize) -> Option<u64> {
    let gap = (center.abs() - margin).abs();
    if gap <= 0.0 || !gap.is_finite() || !half_width.is_finite() {
        return None;
    }
    let need = n as f64 * (half_width / gap).powi(2);
    // The relative slack absorbs rounding in `gap` (0.5 − 0.4 ≠ 0.1 exactly).
    (need.is_finite() && need < 1e15)
        .then(|| (need * (1.0 - 1e-12)).ceil().max(n as f64 + 1.0) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_match_hand_values() {
        let xs = [4.0, 1.0, 3.0, 2.0, 5.0];
        assert_eq!(quantile(&xs, 0.0), 1.0);
        assert_eq!(quantile(&xs, 0.5), 3.0);
        assert_eq!(quantile(&xs, 1.0), 5.0);
        assert_eq!(quantile(&xs, 0.1), 1.4); // h = 0.4 between 1 and 2
        assert_eq!(mean(&xs), 3.0);
        assert_eq!(variance(&xs), 2.5);
    }

    #[test]
    fn normal_quantile_known_values() {
        assert!(normal_quantile(0.5).abs() < 1e-12);
        assert!((normal_quantile(0.975) - 1.959963984540054).abs() < 1e-8);
        assert!((normal_quantile(0.05) + 1.6448536269514722).abs() < 1e-8);
        assert!((normal_quantile(0.001) + 3.090232306167813).abs() < 1e-7);
    }

    #[test]
    fn basic_bounds_reflect_the_replicates_about_the_estimate() {
        // θ̂ = 1, replicates 0..4: Q(0.975) = 3.9, Q(0.025) = 0.1.
        let b = BasicBootstrap::new(1.0, vec![3.0, 0.0, 4.0, 1.0, 2.0]);
        let (lo, hi) = b.interval(0.05);
        assert!((lo - (2.0 - 3.9)).abs() < 1e-12 && (hi - (2.0 - 0.1)).abs() < 1e-12);
        assert!((b.bias() - 1.0).abs() < 1e-12); // mean 2 − θ̂ 1
        assert!((b.lower(0.25) - (2.0 - 3.0)).abs() < 1e-12); // Q(0.75) = 3
    }

    /// A plug-in entropy's resamples sit below its estimate (label-entropy
    /// in the issue: θ̂ = −0.0442, percentile interval [−0.0926, −0.0653]).
    /// The percentile interval excludes θ̂; the basic interval is the same
    /// width, moved up by twice the bias, so it covers the bias-corrected
    /// estimate θ̂ − bias, and the bias is recorded.
    #[test]
    fn basic_interval_corrects_a_resampling_bias() {
        let theta = -0.0442;
        let reps: Vec<f64> = (0..201)
            .map(|i| -0.0926 + 0.0273 * i as f64 / 200.0)
            .collect();
        let b = BasicBootstrap::new(theta, reps.clone());
        let (p_lo, p_hi) = (quantile(&reps, 0.025), quantile(&reps, 0.975));
        assert!(p_hi < theta, "the percentile interval excludes θ̂");
        let (lo, hi) = b.interval(0.05);
        let corrected = theta - b.bias();
        assert!(
            lo < corrected && corrected < hi,
            "[{lo}, {hi}] ∌ {corrected}"
        );
        assert!(((hi - lo) - (p_hi - p_lo)).abs() < 1e-12);
        assert!((b.bias() - (-0.07895 - theta)).abs() < 1e-9);
        assert!(lo < 0.0 && 0.0 < hi, "0 is inside the corrected interval");
    }

    #[test]
    fn p_values_invert_the_bounds() {
        let reps: Vec<f64> = (0..200).map(|i| (i as f64 * 0.37).sin()).collect();
        let b = BasicBootstrap::new(0.3, reps);
        for alpha in [0.01, 0.025, 0.05, 0.2, 0.5] {
            let lo = b.lower(alpha);
            assert!((b.p_greater(lo) - alpha).abs() < 1e-9, "α = {alpha}");
            let hi = b.upper(alpha);
            assert!((b.p_less(hi) - alpha).abs() < 1e-9, "α = {alpha}");
        }
        // Beyond every replicate: certain; on the wrong side: no evidence.
        assert_eq!(b.p_greater(-10.0), 0.0);
        assert_eq!(b.p_greater(10.0), 1.0);
        assert_eq!(b.p_less(10.0), 0.0);
        assert_eq!(b.p_less(-10.0), 1.0);
    }

    #[test]
    fn pooling_averages_estimates_and_pairs_draws_by_index() {
        let a = BasicBootstrap::new(1.0, vec![0.0, 2.0, 4.0]);
        let b = BasicBootstrap::new(3.0, vec![6.0, 2.0, 4.0, 9.0]);
        let p = BasicBootstrap::pooled(&[&a, &b]);
        assert_eq!(p.estimate, 2.0);
        assert_eq!(p.len(), 3);
        // Draws (0+6)/2, (2+2)/2, (4+4)/2 = 3, 2, 4: mean 3, bias 1.
        assert!((p.bias() - 1.0).abs() < 1e-12);
    }

    #[test]
    fn holm_steps_down_and_stops_at_the_first_survivor() {
        // Sorted: 0.01 ≤ 0.05/3 rejected; 0.03 > 0.05/2 stops.
        assert_eq!(holm(&[0.01, 0.04, 0.03], 0.05), [true, false, false]);
        assert_eq!(holm(&[0.001, 0.02, 0.04], 0.05), [true, true, true]);
        // Bonferroni would keep 0.02 (> 0.05/3); Holm rejects it second.
        assert_eq!(holm(&[0.02, 0.001], 0.05), [true, true]);
        assert_eq!(holm(&[0.2], 0.05), [false]);
        assert!(holm(&[], 0.05).is_empty());
    }

    #[test]
    fn samples_to_resolve_scales_as_the_square_of_the_width() {
        // Centre 0.4, half-width 0.2, margin 0.5: gap 0.1 → 100 · 4.
        assert_eq!(samples_to_resolve(0.4, 0.2, 0.5, 100), Some(400));
        // Outside: centre 0.7, gap 0.2, half-width 0.3 → 100 · 2.25.
        assert_eq!(samples_to_resolve(-0.7, 0.3, 0.5, 100), Some(225));
        // On the margin: nothing resolves it.
        assert_eq!(samples_to_resolve(0.5, 0.1, 0.5, 100), None);
    }

    #[test]
    fn bootstrap_rows_are_deterministic_and_in_range() {
        let a = bootstrap_rows(10, 3, 7, 1);
        assert_eq!(a, bootstrap_rows(10, 3, 7, 1));
        assert_ne!(a, bootstrap_rows(10, 3, 8, 1));
        assert!(a.iter().flatten().all(|&r| r < 10));
        assert_eq!(a.len(), 3);
        assert!(a.iter().all(|r| r.len() == 10));
    }
}

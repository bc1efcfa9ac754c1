//! Spearman's rank correlation with average ranks for ties, and its
//! percentile-bootstrap confidence interval over SAEs.

use rdpbench_core::conditions::stats::quantile;
use rdpbench_core::rng::Rng;
use rdpbench_schema::results::validity::RhoEstimate;

/// Stream tag of the bootstrap over SAEs ("RHO").
const BOOTSTRAP_TAG: u64 = 0x0052_484f;

/// Ranks `1..=n` of `xs`; tied values share the mean of the ranks they span
/// (e.g. `[10, 20, 20, 30]` → `[1, 2.5, 2.5, 4]`). Values must be finite.
pub fn average_ranks(xs: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..xs.len()).collect();
    order.sort_by(|&a, &b| xs[a].total_cmp(&xs[b]));
    let mut ranks = vec![0.0; xs.len()];
    let mut start = 0;
    while start < order.len() {
        let mut end = start + 1;
        while end < order.len() && xs[order[end]] == xs[order[start]] {
            end += 1;
        }
        // Positions start..end hold ranks start+1 ..= end; their mean:
        let rank = (start + 1 + end) as f64 / 2.0;
        for &i in &order[start..end] {
            ranks[i] = rank;
        }
        start = end;
    }
    ranks
}

/// Pearson correlation of `a` and `b`; `None` when either is constant or
/// they hold fewer than two values.
fn pearson(a: &[f64], b: &[f64]) -> Option<f64> {
    let n = a.len();
    if n < 2 || b.len() != n {
        return None;
    }
    let ma = a.iter().sum::<f64>() / n as f64;
    let mb = b.iter().sum::<f64>() / n as f64;
    let (mut cov, mut va, mut vb) = (0.0, 0.0, 0.0);
    for (x, y) in a.iter().zip(b) {
        cov += (x - ma) * (y - mb);
        va += (x - ma) * (x - ma);
        vb += (y - mb) * (y - mb);
    }
    (va > 0.0 && vb > 0.0).then(|| (cov / (va * vb).sqrt()).clamp(-1.0, 1.0))
}

/// Spearman's ρ: the Pearson correlation of the average ranks of `xs` and
/// `ys` (paired, equal length). `None` when fewer than two pairs or either
/// side is constant (no ranking to correlate).
pub fn spearman(xs: &[f64], ys: &[f64]) -> Option<f64> {
    if xs.len() != ys.len() {
        return None;
    }
    pearson(&average_ranks(xs), &average_ranks(ys))
}

/// Spearman's ρ of `(xs, ys)` with a percentile-bootstrap interval at
/// two-sided level `confidence`: `resamples` draws of `n` pair indices with
/// replacement from the stream `Rng::derive(seed, [tag, b])`, the same draws
/// for every call with the same `n` (common random numbers across metrics).
pub fn spearman_with_ci(
    xs: &[f64],
    ys: &[f64],
    resamples: usize,
    confidence: f64,
    seed: u64,
) -> RhoEstimate {
    let n = xs.len().min(ys.len());
    let mut est = RhoEstimate {
        rho: None,
        ci: None,
        n,
        n_resamples: 0,
        n_resamples_defined: 0,
        reason: None,
    };
    if n < 3 {
        est.reason = Some(format!(
            "{n} SAE(s) with both values defined; ρ needs at least 3"
        ));
        return est;
    }
    est.rho = spearman(&xs[..n], &ys[..n]);
    if est.rho.is_none() {
        est.reason = Some("one side is constant over the population: nothing to rank".to_string());
        return est;
    }
    let mut rhos = Vec::with_capacity(resamples);
    let (mut bx, mut by) = (vec![0.0; n], vec![0.0; n]);
    for b in 0..resamples {
        let mut rng = Rng::derive(seed, &[BOOTSTRAP_TAG, b as u64]);
        for k in 0..n {
            let i = rng.below(n as u64) as usize;
            bx[k] = xs[i];
            by[k] = ys[i];
        }
        if let Some(r) = spearman(&bx, &by) {
            rhos.push(r);
        }
    }
    est.n_resamples = resamples;
    est.n_resamples_defined = rhos.len();
    if !rhos.is_empty() && 2 * rhos.len() >= resamples {
        let alpha = (1.0 - confidence) / 2.0;
        est.ci = Some([quantile(&rhos, alpha), quantile(&rhos, 1.0 - alpha)]);
    }
    est
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ties_share_the_mean_rank() {
        assert_eq!(
            average_ranks(&[30.0, 10.0, 20.0, 20.0]),
            vec![4.0, 1.0, 2.5, 2.5]
        );
        assert_eq!(average_ranks(&[5.0, 5.0, 5.0]), vec![2.0, 2.0, 2.0]);
    }

    #[test]
    fn monotone_is_one_and_reversed_is_minus_one() {
        let x = [0.1, 0.5, 0.7, 3.0, 9.0];
        // Any strictly increasing transform ranks the same.
        let y: Vec<f64> = x.iter().map(|v: &f64| v.exp()).collect();
        assert_eq!(spearman(&x, &y), Some(1.0));
        let r: Vec<f64> = x.iter().map(|v| -v * v).collect();
        assert_eq!(spearman(&x, &r), Some(-1.0));
    }

    #[test]
    fn tie_case_matches_hand_value() {
        // x ranks [1, 2.5, 2.5, 4], y ranks [1, 2, 3, 4], both mean 2.5:
        // Σdx·dy = 2.25 + 0 + 0 + 2.25 = 4.5, Σdx² = 4.5, Σdy² = 5,
        // ρ = 4.5 / √22.5 = 3/√10.
        let rho = spearman(&[1.0, 2.0, 2.0, 3.0], &[1.0, 2.0, 3.0, 4.0]).unwrap();
        assert!((rho - 3.0 / 10f64.sqrt()).abs() < 1e-15, "{rho}");
    }

    #[test]
    fn no_monotone_association_is_zero() {
        // y = (x − 3)²: ranks y [4.5, 2.5, 1, 2.5, 4.5] are symmetric about
        // x's centre, so Σ dx·dy = 0.
        let x = [1.0, 2.0, 3.0, 4.0, 5.0];
        let y: Vec<f64> = x.iter().map(|v| (v - 3.0) * (v - 3.0)).collect();
        assert_eq!(spearman(&x, &y), Some(0.0));
    }

    #[test]
    fn constant_side_or_too_few_pairs_is_undefined() {
        assert_eq!(spearman(&[1.0, 2.0, 3.0], &[7.0, 7.0, 7.0]), None);
        let e = spearman_with_ci(&[1.0, 2.0, 3.0], &[7.0, 7.0, 7.0], 100, 0.95, 0);
        assert!(e.rho.is_none() && e.ci.is_none());
        assert!(e.reason.unwrap().contains("constant"));
        let e = spearman_with_ci(&[1.0, 2.0], &[1.0, 2.0], 100, 0.95, 0);
        assert!(e.rho.is_none());
        assert!(e.reason.unwrap().contains("at least 3"));
    }

    #[test]
    fn bootstrap_interval_is_seeded_and_brackets_perfect_rank_agreement() {
        let x: Vec<f64> = (0..20).map(f64::from).collect();
        let y: Vec<f64> = x.iter().map(|v| v * 2.0 + 1.0).collect();
        let e = spearman_with_ci(&x, &y, 200, 0.95, 7);
        assert_eq!(e.rho, Some(1.0));
        // Every resample of a perfectly concordant population is concordant.
        assert_eq!(e.ci, Some([1.0, 1.0]));
        assert_eq!(e.n_resamples_defined, 200);
        let noisy: Vec<f64> = x
            .iter()
            .enumerate()
            .map(|(i, v)| v + if i % 2 == 0 { 3.0 } else { -3.0 })
            .collect();
        let a = spearman_with_ci(&x, &noisy, 200, 0.95, 7);
        let b = spearman_with_ci(&x, &noisy, 200, 0.95, 7);
        assert_eq!(a, b, "same seed, same interval");
        let [lo, hi] = a.ci.unwrap();
        assert!(lo <= a.rho.unwrap() && a.rho.unwrap() <= hi && lo < hi);
    }
}

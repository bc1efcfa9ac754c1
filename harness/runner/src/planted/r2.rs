//! Experiment 1 (R2 on a real background): at a fixed rate, does
//! `P_gt^planted` rise with the co-occurrence level `q`, as on toys?
//!
//! Statistic: the OLS slope of `P_gt^planted` on `q_factor` over the SAEs
//! where it is defined. Interval: basic bootstrap (`2θ̂ − Q`), resampling
//! the SAEs of each level with replacement (stratified by level, so every
//! resample keeps the design). Trend: rises / falls when the interval lies
//! wholly above / below 0, else undecided.

use rdpbench_core::rng::Rng;
use rdpbench_schema::results::planted::{PlantedSaeRow, SlopeEstimate, Trend};

/// Stream tag of the slope bootstrap.
const TAG_SLOPE: u64 = 0x5232_534c; // "R2SL"

/// OLS slope of `y` on `x`; `None` with fewer than 2 distinct `x`.
pub fn ols_slope(points: &[(f64, f64)]) -> Option<f64> {
    let n = points.len() as f64;
    if points.len() < 2 {
        return None;
    }
    let mx = points.iter().map(|p| p.0).sum::<f64>() / n;
    let my = points.iter().map(|p| p.1).sum::<f64>() / n;
    let sxx: f64 = points.iter().map(|p| (p.0 - mx).powi(2)).sum();
    let sxy: f64 = points.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    (sxx > 0.0).then(|| sxy / sxx)
}

/// The slope, its interval and the trend over `rows` (levels in `levels` order).
pub fn slope(
    rows: &[PlantedSaeRow],
    levels: &[f64],
    resamples: usize,
    confidence: f64,
    seed: u64,
) -> (SlopeEstimate, Vec<Option<f64>>, Trend) {
    let strata: Vec<Vec<f64>> = levels
        .iter()
        .map(|&q| {
            rows.iter()
                .filter(|r| r.q_factor == q)
                .filter_map(|r| r.planted.p_gt)
                .collect()
        })
        .collect();
    let means = strata
        .iter()
        .map(|s| (!s.is_empty()).then(|| s.iter().sum::<f64>() / s.len() as f64))
        .collect();
    let points = |strata: &[Vec<f64>]| -> Vec<(f64, f64)> {
        levels
            .iter()
            .zip(strata)
            .flat_map(|(&q, s)| s.iter().map(move |&y| (q, y)))
            .collect()
    };
    let value = ols_slope(&points(&strata));
    let mut rng = Rng::derive(seed, &[TAG_SLOPE]);
    let mut boot: Vec<f64> = (0..resamples)
        .filter_map(|_| {
            let resampled: Vec<Vec<f64>> = strata
                .iter()
                .map(|s| {
                    (0..s.len())
                        .map(|_| s[rng.below(s.len() as u64) as usize])
                        .collect()
                })
                .collect();
            ols_slope(&points(&resampled))
        })
        .collect();
    boot.sort_by(f64::total_cmp);
    let ci = match (value, boot.is_empty()) {
        (Some(v), false) => {
            let alpha = (1.0 - confidence) / 2.0;
            let q =
                |p: f64| boot[((p * (boot.len() - 1) as f64).round() as usize).min(boot.len() - 1)];
            Some([2.0 * v - q(1.0 - alpha), 2.0 * v - q(alpha)])
        }
        _ => None,
    };
    let trend = match ci {
        Some([lo, _]) if lo > 0.0 => Trend::Rises,
        Some([_, hi]) if hi < 0.0 => Trend::Falls,
        _ => Trend::Undecided,
    };
    (
        SlopeEstimate {
            value,
            ci,
            n_resamples: boot.len(),
        },
        means,
        trend,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use rdpbench_core::planted::PlantedGroundTruth;
    use rdpbench_schema::results::train::Sparsity;

    fn row(q: f64, p: Option<f64>) -> PlantedSaeRow {
        PlantedSaeRow {
            sae_id: format!("q{q}"),
            architecture: "topk".into(),
            sparsity: Sparsity::new("k", 2.0),
            q_factor: q,
            seed: 0,
            config_index: 0,
            d_sae: 4,
            l0: None,
            explained_variance: None,
            mse: None,
            planted: PlantedGroundTruth {
                p_gt: p,
                polysemantic_fraction: None,
                n_planted: 1,
                n_background: 0,
                n_dead: 0,
                background_firing_share: 0.0,
                background_residual: 0.7,
            },
            mcc: None,
            mean_f1: None,
        }
    }

    #[test]
    fn ols_slope_of_a_line_is_exact() {
        let pts: Vec<(f64, f64)> = (0..5).map(|i| (i as f64, 0.5 + 2.0 * i as f64)).collect();
        assert!((ols_slope(&pts).unwrap() - 2.0).abs() < 1e-12);
        assert_eq!(ols_slope(&[(1.0, 2.0), (1.0, 3.0)]), None, "one distinct x");
    }

    #[test]
    fn a_clean_rise_is_decided_and_a_flat_noisy_curve_is_not() {
        let levels = [0.0, 0.5, 1.0];
        // P_gt = 0.1 + 0.4 q with seed noise ±0.01: slope 0.4, interval above 0.
        let rising: Vec<PlantedSaeRow> = levels
            .iter()
            .flat_map(|&q| [-0.01, 0.0, 0.01].map(|e| row(q, Some(0.1 + 0.4 * q + e))))
            .collect();
        let (s, means, trend) = slope(&rising, &levels, 500, 0.95, 0);
        assert!((s.value.unwrap() - 0.4).abs() < 1e-9);
        assert_eq!(trend, Trend::Rises, "{s:?}");
        assert!((means[2].unwrap() - 0.5).abs() < 1e-9);
        // Same noise, no trend: undecided.
        let flat: Vec<PlantedSaeRow> = levels
            .iter()
            .enumerate()
            .flat_map(|(i, &q)| [-0.1, 0.0, 0.1].map(|e| row(q, Some(0.3 + e * (i as f64 - 1.0)))))
            .collect();
        let (_, _, trend) = slope(&flat, &levels, 500, 0.95, 0);
        assert_eq!(trend, Trend::Undecided);
        // Undefined P_gt on every SAE: no slope, undecided.
        let none: Vec<PlantedSaeRow> = levels.iter().map(|&q| row(q, None)).collect();
        let (s, means, trend) = slope(&none, &levels, 100, 0.95, 0);
        assert_eq!((s.value, s.ci, trend), (None, None, Trend::Undecided));
        assert_eq!(means, vec![None, None, None]);
    }
}

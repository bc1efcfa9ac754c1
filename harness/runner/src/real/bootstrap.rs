//! The document bootstrap: resample whole documents with replacement.
//!
//! Tokens of one document are strongly correlated (topic, style, the same
//! words), so resampling tokens would understate the variance; the unit is
//! the document ([`super::heldout::HeldOut::units`]). A resample of `m`
//! documents draws `m` document indices uniformly with replacement; its rows
//! are the drawn documents' rows concatenated in draw order. The interval is
//! the percentile interval `[q_{(1−c)/2}, q_{(1+c)/2}]` of the statistic over
//! the resamples where it is defined (quantiles by linear interpolation,
//! `rdpbench_core::conditions::stats::quantile`).

use rdpbench_core::rng::Rng;
use std::ops::Range;

/// Stream tag of the document bootstrap ("DOCB").
const BOOTSTRAP_TAG: u64 = 0x444f_4342;

/// `resamples` draws of `n_units` unit indices with replacement; draw `b`
/// comes from `Rng::derive(seed, [BOOTSTRAP_TAG, b])`, so every statistic
/// (and every SAE) sees the same resamples.
pub fn resample_units(n_units: usize, resamples: usize, seed: u64) -> Vec<Vec<usize>> {
    (0..resamples)
        .map(|b| {
            let mut rng = Rng::derive(seed, &[BOOTSTRAP_TAG, b as u64]);
            (0..n_units)
                .map(|_| rng.below(n_units as u64) as usize)
                .collect()
        })
        .collect()
}

/// The rows of the units `picks` (with repetition, in order).
pub fn rows_of(units: &[Range<usize>], picks: &[usize]) -> Vec<usize> {
    picks.iter().flat_map(|&u| units[u].clone()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rdpbench_schema::results::real::Estimate;

    #[test]
    fn rows_follow_whole_documents_in_draw_order() {
        let units = [0..2, 2..5, 5..6];
        assert_eq!(rows_of(&units, &[1, 1, 0]), vec![2, 3, 4, 2, 3, 4, 0, 1]);
        assert_eq!(rows_of(&units, &[2]), vec![5]);
    }

    #[test]
    fn resamples_are_seeded_and_in_range() {
        let a = resample_units(4, 50, 7);
        assert_eq!(a, resample_units(4, 50, 7));
        assert_ne!(a, resample_units(4, 50, 8));
        assert!(a.iter().all(|p| p.len() == 4 && p.iter().all(|&u| u < 4)));
        // Every unit is drawn somewhere in 200 draws of 4 (probability of
        // missing one: 4·(3/4)^200 < 1e-24).
        for u in 0..4 {
            assert!(a.iter().flatten().any(|&x| x == u));
        }
    }

    #[test]
    fn percentile_interval_hand_computed() {
        // Sorted 1..=5; q(0.25) = 2, q(0.75) = 4 at c = 0.5.
        let r: Vec<Option<f64>> = [3.0, 1.0, 5.0, 2.0, 4.0].into_iter().map(Some).collect();
        let e = Estimate::new(Some(3.0), &r, 0.5);
        assert_eq!(e.ci, Some([2.0, 4.0]));
        // c = 0.9: q(0.05) = 1 + 0.2·1 = 1.2, q(0.95) = 4.8.
        let e = Estimate::new(Some(3.0), &r, 0.9);
        let [lo, hi] = e.ci.unwrap();
        assert!((lo - 1.2).abs() < 1e-12 && (hi - 4.8).abs() < 1e-12);
        // Mostly undefined resamples: no interval.
        let e = Estimate::new(Some(3.0), &[Some(1.0), None, None], 0.9);
        assert_eq!((e.ci, e.n_resamples_defined), (None, 1));
    }

    /// Document bootstrap of a mean over tokens, by hand: documents with
    /// token values [1, 1] and [4]; picks [1, 1] → rows [2, 2] → mean 4;
    /// picks [0, 1] → rows [0, 1, 2] → mean 2; picks [0, 0] → mean 1.
    #[test]
    fn document_resampling_hand_computed_mean() {
        let values = [1.0, 1.0, 4.0];
        let units = [0..2, 2..3];
        let mean = |picks: &[usize]| {
            let rows = rows_of(&units, picks);
            rows.iter().map(|&r| values[r]).sum::<f64>() / rows.len() as f64
        };
        assert_eq!(mean(&[1, 1]), 4.0);
        assert_eq!(mean(&[0, 1]), 2.0);
        assert_eq!(mean(&[0, 0]), 1.0);
        // Interval at c = 0.5 over {1, 2, 4}: q(0.25) = 1.5, q(0.75) = 3.
        let e = Estimate::new(Some(2.0), &[Some(4.0), Some(2.0), Some(1.0)], 0.5);
        assert_eq!(e.ci, Some([1.5, 3.0]));
    }
}

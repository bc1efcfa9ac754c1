//! Ground truth on the planted part: `P_gt` restricted to the planted
//! directions, with an explicit rule for latents that explain the
//! background.
//!
//! The decomposition is CONDITIONS.md §2 unchanged ([`p_gt`]) with the
//! planted directions as the concepts and the planted presences as labels.
//! A live, explained latent is then **planted** when its relative residual
//! `‖w_j − Σ β_i v_i‖ / ‖w_j‖` is at most `background_residual` (default
//! `1/√2`: the planted atoms carry more than half of the row's squared
//! norm), and **background** otherwise. Unexplained latents (`Σ β = 0`: no
//! planted direction correlates positively) are background too. Background
//! latents are excluded from `P_gt` and reported with their count and
//! their share of the live firings.
//!
//! `P_gt^planted = Σ_{j planted} f_j (N_eff(j) − 1) / Σ_{j planted} f_j`;
//! undefined when no latent is planted.

use anyhow::Result;
use rdpbench_sdk::data::{CsrMatrix, DenseMatrix};
use serde::{Deserialize, Serialize};

use crate::toy::{GroundTruthOptions, LatentStatus, p_gt};

/// `1/√2`: a planted latent keeps more than half its squared norm on planted atoms.
pub const DEFAULT_BACKGROUND_RESIDUAL: f64 = std::f64::consts::FRAC_1_SQRT_2;

/// `P_gt` on the planted part and how the live latents split.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlantedGroundTruth {
    /// `P_gt^planted`; `None` when no live latent is planted.
    pub p_gt: Option<f64>,
    /// Frequency-weighted share of planted latents with `N_eff > 1.5`.
    pub polysemantic_fraction: Option<f64>,
    /// Live latents counted as planted.
    pub n_planted: usize,
    /// Live latents that explain the background (large residual or unexplained).
    pub n_background: usize,
    /// Latents that never fire.
    pub n_dead: usize,
    /// `Σ f_j` of background latents over `Σ f_j` of all live latents.
    pub background_firing_share: f64,
    /// The residual bound used.
    pub background_residual: f64,
}

/// The restricted ground truth. Shapes: `directions: [n_planted, d]`,
/// `decoder: [d_sae, d]`, `codes: [n, d_sae]`, `labels: [n, n_planted]`.
pub fn planted_p_gt(
    directions: &DenseMatrix,
    decoder: &DenseMatrix,
    codes: &CsrMatrix,
    labels: &CsrMatrix,
    opts: &GroundTruthOptions,
    background_residual: f64,
) -> Result<PlantedGroundTruth> {
    anyhow::ensure!(
        background_residual.is_finite() && (0.0..=1.0).contains(&background_residual),
        "background_residual must lie in [0, 1], not {background_residual}"
    );
    let report = p_gt(directions, decoder, codes, labels, opts)?;
    let (mut num, mut den, mut poly, mut bg, mut live) = (0.0, 0.0, 0.0, 0.0, 0.0);
    let (mut n_planted, mut n_background, mut n_dead) = (0, 0, 0);
    for l in &report.latents {
        match (l.status, l.n_eff) {
            (LatentStatus::Dead, _) => n_dead += 1,
            (LatentStatus::Explained, Some(n_eff))
                if l.relative_residual <= background_residual =>
            {
                n_planted += 1;
                live += l.frequency;
                num += l.frequency * (n_eff - 1.0);
                den += l.frequency;
                if n_eff > opts.polysemantic_threshold {
                    poly += l.frequency;
                }
            }
            _ => {
                n_background += 1;
                live += l.frequency;
                bg += l.frequency;
            }
        }
    }
    Ok(PlantedGroundTruth {
        p_gt: (den > 0.0).then(|| num / den),
        polysemantic_fraction: (den > 0.0).then(|| poly / den),
        n_planted,
        n_background,
        n_dead,
        background_firing_share: if live > 0.0 { bg / live } else { 0.0 },
        background_residual,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two orthonormal planted directions in d = 3 (e0, e1); latents:
    /// 0 = e0 (monosemantic), 1 = (e0 + e1)/√2 (N_eff = 2), 2 = e2 (the
    /// background), 3 = 0.6 e0 + 0.8 e2 (mostly background: residual 0.8),
    /// 4 never fires.
    fn fixture() -> (DenseMatrix, DenseMatrix, CsrMatrix, CsrMatrix) {
        let v = DenseMatrix::from_vec(2, 3, vec![1.0, 0.0, 0.0, 0.0, 1.0, 0.0]).unwrap();
        let h = std::f32::consts::FRAC_1_SQRT_2;
        let w = DenseMatrix::from_vec(
            5,
            3,
            vec![
                1.0, 0.0, 0.0, h, h, 0.0, 0.0, 0.0, 1.0, 0.6, 0.0, 0.8, 0.0, 1.0, 0.0,
            ],
        )
        .unwrap();
        // 4 rows: row 0 concept 0 (latent 0 fires), row 1 concepts 0+1
        // (latent 1), row 2 nothing planted (latent 2), row 3 concept 0
        // (latents 0 and 3).
        let mut codes = CsrMatrix::with_cols(5);
        codes.push_row([(0u32, 1.0f32)]);
        codes.push_row([(1, 1.0)]);
        codes.push_row([(2, 1.0)]);
        codes.push_row([(0, 1.0), (3, 1.0)]);
        let mut labels = CsrMatrix::with_cols(2);
        labels.push_row([(0u32, 1.0f32)]);
        labels.push_row([(0, 1.0), (1, 1.0)]);
        labels.push_row([]);
        labels.push_row([(0, 1.0)]);
        (v, w, codes, labels)
    }

    #[test]
    fn background_latents_are_excluded_and_counted() {
        let (v, w, codes, labels) = fixture();
        let opts = GroundTruthOptions::default();
        let gt = planted_p_gt(&v, &w, &codes, &labels, &opts, DEFAULT_BACKGROUND_RESIDUAL).unwrap();
        // Planted: latent 0 (f = 2/4, N_eff 1) and latent 1 (f = 1/4, N_eff 2):
        // P_gt = (0.5·0 + 0.25·1) / 0.75 = 1/3.
        assert_eq!((gt.n_planted, gt.n_background, gt.n_dead), (2, 2, 1));
        assert!((gt.p_gt.unwrap() - 1.0 / 3.0).abs() < 1e-6, "{gt:?}");
        assert!((gt.polysemantic_fraction.unwrap() - 1.0 / 3.0).abs() < 1e-6);
        // Background firing share: latents 2 and 3 fire once each, of 5 live firings.
        assert!((gt.background_firing_share - 2.0 / 5.0).abs() < 1e-12);
    }

    #[test]
    fn the_residual_bound_moves_mixed_latents_between_the_parts() {
        let (v, w, codes, labels) = fixture();
        let opts = GroundTruthOptions::default();
        // With bound 0.9, latent 3 (residual 0.8, N_eff 1) counts as planted:
        // P_gt = 0.25 / (0.5 + 0.25 + 0.25) = 0.25.
        let gt = planted_p_gt(&v, &w, &codes, &labels, &opts, 0.9).unwrap();
        assert_eq!(gt.n_planted, 3);
        assert!((gt.p_gt.unwrap() - 0.25).abs() < 1e-6, "{gt:?}");
        let err = planted_p_gt(&v, &w, &codes, &labels, &opts, 1.5).unwrap_err();
        assert!(err.to_string().contains("background_residual"), "{err}");
        // Only background: undefined, never NaN.
        let mut only_bg = CsrMatrix::with_cols(5);
        for _ in 0..4 {
            only_bg.push_row([(2u32, 1.0f32)]);
        }
        let gt = planted_p_gt(&v, &w, &only_bg, &labels, &opts, 0.5).unwrap();
        assert_eq!((gt.p_gt, gt.n_planted, gt.n_background), (None, 0, 1));
    }
}

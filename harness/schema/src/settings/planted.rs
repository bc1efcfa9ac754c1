//! The `[planted]` section of the configuration (`rdpbench planted`):
//! known features planted into real (or synthetic heavy-tailed)
//! activations.

use anyhow::{Result, ensure};
use rdpbench_core::planted::PlantingSubspace;
use serde::{Deserialize, Serialize};

/// Planting, training and the three experiments of `rdpbench planted`.
///
/// The planted toy of the validity-transfer population is `[validity].toy`
/// (with its `q_factors`, `architectures`, `sparsity` and `seeds`), so the
/// planted ρ and the toy ρ are over the same configurations; the ladders
/// use the check toy (`[toy]` plus `[check]`'s absorption families) and
/// `[check]`'s seeds and sample count. Toys are planted without noise of
/// their own: the background is the noise.
///
/// Units: training and evaluation inputs are divided by `s = magnitude ·
/// E‖x_real‖`, so the planted part is in the toy's own units (a `c = 1`
/// concept has norm 1) and the toy population's sparsity levels apply
/// unchanged; the background then has mean norm `1 / magnitude`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlantedSettings {
    /// Where the planted directions live: `random`, `high-variance` or
    /// `low-variance` (of the background's covariance).
    pub subspace: PlantingSubspace,
    /// Norm of a planted `c = 1` concept relative to the background's mean norm.
    pub magnitude: f64,
    /// A live latent counts toward the planted `P_gt` when its relative
    /// residual on the planted directions is at most this (default `1/√2`).
    pub background_residual: f64,
    /// Background rows used for training (read into memory).
    pub train_rows: usize,
    /// Held-out background rows for evaluation and the ladders.
    pub eval_rows: usize,
    /// Latents of every planted SAE.
    pub d_sae: usize,
    /// Optimiser steps per planted SAE.
    pub steps: u64,
    /// Rows per step.
    pub batch_size: usize,
    /// Peak AdamW learning rate.
    pub lr: f64,
    /// Seed of the random planting frame, the row order and the bootstraps.
    pub seed: u64,
    /// Bootstrap resamples of the ρ intervals and of the R2 slope.
    pub bootstrap_resamples: usize,
    /// Two-sided confidence level of the intervals.
    pub confidence: f64,
    /// R2: the architecture trained at a fixed rate …
    pub r2_architecture: String,
    /// … its sparsity knob's value …
    pub r2_sparsity: f64,
    /// … at these co-occurrence levels (`q / min p_i` of `[validity].toy`'s groups) …
    pub r2_q_factors: Vec<f64>,
    /// … and seeds.
    pub r2_seeds: Vec<u64>,
    /// Ladders: the background's own code, an SAE of this architecture …
    pub background_architecture: String,
    /// … at this sparsity …
    pub background_sparsity: f64,
    /// … and width, trained on the background alone and held fixed.
    pub background_d_sae: usize,
    /// Without `--cache`: rows of the synthetic heavy-tailed background.
    pub synthetic_rows: usize,
    /// Without `--cache`: its dimension.
    pub synthetic_d: usize,
    /// Further training hyperparameters passed to every plugin.
    pub hyperparameters: serde_json::Map<String, serde_json::Value>,
}

impl PlantedSettings {
    /// Checks what serde cannot; errors name the `[planted]` field.
    pub fn validate(&self) -> Result<()> {
        ensure!(
            self.magnitude.is_finite() && self.magnitude > 0.0,
            "[planted].magnitude = {} must be a positive number",
            self.magnitude
        );
        ensure!(
            (0.0..=1.0).contains(&self.background_residual),
            "[planted].background_residual = {} is outside [0, 1]",
            self.background_residual
        );
        for (field, v) in [
            ("train_rows", self.train_rows),
            ("eval_rows", self.eval_rows),
            ("d_sae", self.d_sae),
            ("batch_size", self.batch_size),
            ("background_d_sae", self.background_d_sae),
            ("synthetic_rows", self.synthetic_rows),
            ("synthetic_d", self.synthetic_d),
        ] {
            ensure!(v > 0, "[planted].{field} must be positive");
        }
        ensure!(
            self.confidence > 0.0 && self.confidence < 1.0,
            "[planted].confidence = {} is outside (0, 1)",
            self.confidence
        );
        ensure!(
            self.r2_q_factors.len() >= 2,
            "[planted].r2_q_factors needs at least two levels for a slope"
        );
        for (i, q) in self.r2_q_factors.iter().enumerate() {
            ensure!(
                (0.0..=1.0).contains(q),
                "[planted].r2_q_factors[{i}] = {q} is outside [0, 1]"
            );
        }
        ensure!(!self.r2_seeds.is_empty(), "[planted].r2_seeds is empty");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_fields_are_named() {
        let ok = PlantedSettings::default();
        ok.validate().unwrap();
        let s = PlantedSettings {
            magnitude: 0.0,
            ..ok.clone()
        };
        assert!(
            s.validate()
                .unwrap_err()
                .to_string()
                .contains("[planted].magnitude")
        );
        let s = PlantedSettings {
            r2_q_factors: vec![0.5],
            ..ok.clone()
        };
        assert!(
            s.validate()
                .unwrap_err()
                .to_string()
                .contains("r2_q_factors")
        );
        let s = PlantedSettings { d_sae: 0, ..ok };
        assert!(
            s.validate()
                .unwrap_err()
                .to_string()
                .contains("[planted].d_sae")
        );
    }
}

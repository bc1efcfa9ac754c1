//! The `[train]` section of the configuration (`rdpbench train`).

use anyhow::Result;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A training sweep: architectures × widths × sparsities × seeds on the
/// `[toy]` model. The sparsity axis an architecture sweeps is its own knob,
/// the hyperparameter its plugin declares as its sparsity knob (`k` for
/// TopK, `l1_coefficient` for ReLU, …): `sparsity.<architecture>` lists the
/// knob's values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainSettings {
    /// Architecture plugin ids (`rdpbench plugins list` shows the loaded ones).
    pub architectures: Vec<String>,
    /// Latent counts `d_sae`.
    pub widths: Vec<usize>,
    /// Values of each architecture's sparsity knob, by architecture id. Every
    /// listed architecture needs an entry; entries of unlisted architectures
    /// are unused (config layers merge this table key by key).
    pub sparsity: BTreeMap<String, Vec<f64>>,
    /// Initialisation/data seeds; one SAE per seed.
    pub seeds: Vec<u64>,
    /// Seed of the toy model (directions) the SAEs train on.
    pub toy_seed: u64,
    /// Optimiser steps per SAE.
    pub steps: u64,
    /// Rows per step.
    pub batch_size: usize,
    /// Peak AdamW learning rate.
    pub lr: f64,
    /// Held-out rate/distortion report every this many steps (0: at the end only).
    pub eval_every: u64,
    /// Evaluation rows (a separate toy draw) for the final scores.
    pub eval_samples: usize,
    /// Further training hyperparameters passed to every plugin (e.g. `aux_k = 8`).
    pub hyperparameters: serde_json::Map<String, serde_json::Value>,
}

impl TrainSettings {
    /// Checks what serde cannot; errors name the `[train]` field.
    pub fn validate(&self) -> Result<()> {
        anyhow::ensure!(
            !self.widths.is_empty(),
            "[train].widths (--widths) is empty"
        );
        if let Some(w) = self.widths.iter().find(|&&w| w == 0) {
            anyhow::bail!("[train].widths (--widths) holds {w}: every width d_sae must be > 0");
        }
        anyhow::ensure!(!self.seeds.is_empty(), "[train].seeds (--seeds) is empty");
        anyhow::ensure!(
            self.steps > 0,
            "[train].steps (--steps) is 0: training needs at least one step"
        );
        anyhow::ensure!(
            self.batch_size > 0,
            "[train].batch_size is 0: a step needs at least one row"
        );
        anyhow::ensure!(
            self.lr.is_finite() && self.lr > 0.0,
            "[train].lr is {}: the learning rate must be a finite number > 0",
            self.lr
        );
        anyhow::ensure!(
            self.eval_samples > 0,
            "[train].eval_samples is 0: the final scores need at least one row"
        );
        super::validate_sparsity("train", &self.architectures, &self.sparsity)
    }
}

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
        super::validate_sparsity("train", &self.architectures, &self.sparsity)
    }
}

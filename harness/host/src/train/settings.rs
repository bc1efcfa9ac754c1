//! The `[train]` section of the configuration (`rdpbench train`).

use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// A training sweep: architectures × widths × sparsities × seeds on the
/// `[toy]` model. The sparsity axis an architecture sweeps is its own: `k`
/// for TopK, BatchTopK and Matryoshka, `l1_coefficient` for ReLU and Gated,
/// `l0_coefficient` for JumpReLU.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainSettings {
    /// Architecture plugin ids (`relu`, `topk`, `batchtopk`, `jumprelu`, `gated`, `matryoshka`).
    pub architectures: Vec<String>,
    /// Latent counts `d_sae`.
    pub widths: Vec<usize>,
    /// `k` values (TopK: per row; BatchTopK/Matryoshka: mean per row).
    pub k: Vec<f64>,
    /// L1 coefficients (ReLU, Gated).
    pub l1_coefficient: Vec<f64>,
    /// L0 coefficients (JumpReLU).
    pub l0_coefficient: Vec<f64>,
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
    /// Folder for the SAELens folders and the sweep summary, relative to `[output].dir`.
    pub dir: PathBuf,
    /// Further training hyperparameters passed to every plugin (e.g. `aux_k = 8`).
    pub hyperparameters: serde_json::Map<String, serde_json::Value>,
}

impl Default for TrainSettings {
    fn default() -> Self {
        Self {
            architectures: vec!["topk".into()],
            widths: vec![32],
            k: vec![4.0],
            l1_coefficient: vec![0.3],
            l0_coefficient: vec![0.5],
            seeds: vec![0],
            toy_seed: 0,
            steps: 1500,
            batch_size: 512,
            lr: 3e-3,
            eval_every: 250,
            eval_samples: 8192,
            dir: PathBuf::from("saes"),
            hyperparameters: serde_json::Map::new(),
        }
    }
}

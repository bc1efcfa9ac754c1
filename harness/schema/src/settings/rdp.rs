//! The `[reproduce]` section: settings of `rdpbench reproduce rdp`.

use rdpbench_core::toy::ToyConfig;
use serde::{Deserialize, Serialize};

/// Settings of the reproduction of the paper's toy claims (CONDITIONS.md §5).
/// Defaults (`Default`): the embedded `default.toml`'s `[reproduce]` section.
///
/// Both architectures are SAE plugins whose sparsity knob is a rate (mean
/// active latents per row, like TopK's `k`): the knob is set to each value
/// of `k_grid` (unrestricted family) and to `r2_k` (R2).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RdpSettings {
    /// The toy model: `[reproduce.toy]` when it is set (to anything but the
    /// built-in toy defaults), else the configuration's `[toy]`.
    #[serde(default)]
    pub toy: ToyConfig,
    pub toy_seed: u64,
    /// Rate grid (mean active latents per row).
    pub k_grid: Vec<f64>,
    /// The unrestricted family's architecture plugin (R1, R3).
    pub unrestricted_architecture: String,
    /// `d_sae` of the unrestricted SAEs, as a multiple of `n_concepts`.
    pub width_factor: usize,
    pub steps: u64,
    pub batch_size: usize,
    pub lr: f64,
    pub eval_samples: usize,
    pub ev_target: f64,
    /// R2: `q / p` grid, the architecture plugin, and its fixed rate.
    pub q_factors: Vec<f64>,
    pub r2_architecture: String,
    pub r2_k: f64,
    pub seeds: Vec<u64>,
}

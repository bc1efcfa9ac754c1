//! The `[bench]` section of the configuration (`rdpbench bench`).

use anyhow::{Result, ensure};
use serde::{Deserialize, Serialize};

/// Which sizes to benchmark and how long criterion measures each.
///
/// The size grid is `widths × n_tokens`: one trained SAE per width `d_sae`
/// (or one per SAELens folder given with `--sae`), each evaluated on the
/// first `N` rows of the toy evaluation draw for every `N` in `n_tokens`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BenchSettings {
    /// Latent counts `d_sae` of the SAEs trained for benchmarking.
    pub widths: Vec<usize>,
    /// Token counts `N`: rows of activations, codes and labels per metric call.
    pub n_tokens: Vec<usize>,
    /// Architecture plugin of the SAEs trained for benchmarking.
    pub architecture: String,
    /// The value of its sparsity knob (the hyperparameter its plugin
    /// declares as such: `k` for TopK).
    pub sparsity: f64,
    /// Optimiser steps per benchmark SAE: runtime does not depend on how
    /// well it is trained, so this is small.
    pub train_steps: u64,
    /// Criterion: measurements per benchmark (criterion's minimum is 10).
    pub sample_size: usize,
    /// Criterion: warm-up time per benchmark, seconds.
    pub warm_up_secs: f64,
    /// Criterion: target measurement time per benchmark, seconds (a slow
    /// metric takes longer: criterion needs `sample_size` calls at least).
    pub measurement_secs: f64,
    /// Criterion: bootstrap resamples for the confidence intervals.
    pub nresamples: usize,
    /// Criterion's HTML plots (needs gnuplot; slow). Estimates are written either way.
    pub plots: bool,
}

impl BenchSettings {
    /// Rejects settings criterion or the fit cannot use, naming the field.
    pub fn validate(&self) -> Result<()> {
        ensure!(
            self.n_tokens.iter().all(|&n| n > 0),
            "[bench].n_tokens: every N must be positive (got {:?})",
            self.n_tokens
        );
        ensure!(!self.n_tokens.is_empty(), "[bench].n_tokens is empty");
        ensure!(
            self.widths.iter().all(|&w| w > 0),
            "[bench].widths: every d_sae must be positive (got {:?})",
            self.widths
        );
        ensure!(
            self.sample_size >= 10,
            "[bench].sample_size = {}: criterion needs at least 10",
            self.sample_size
        );
        ensure!(
            self.warm_up_secs > 0.0 && self.warm_up_secs.is_finite(),
            "[bench].warm_up_secs must be a positive number of seconds"
        );
        ensure!(
            self.measurement_secs > 0.0 && self.measurement_secs.is_finite(),
            "[bench].measurement_secs must be a positive number of seconds"
        );
        ensure!(self.nresamples > 0, "[bench].nresamples must be positive");
        Ok(())
    }
}

//! The `[real]` section of the configuration (`rdpbench real`).

use anyhow::{Result, ensure};
use serde::{Deserialize, Serialize};

/// A training sweep on a cached real activation set, its held-out
/// evaluation, and the toy counterpart used for the rank comparison.
///
/// The sparsity axis an architecture sweeps is its own knob, as in
/// `[train]`: `sparsity.<architecture>` lists the values of the knob its
/// plugin declares. Every SAE has `d_sae = width_factor ·
/// d_model` on real data and `width_factor · [toy].d` on the toy model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RealSettings {
    /// Architecture plugin ids.
    pub architectures: Vec<String>,
    /// Values of each architecture's sparsity knob, by architecture id
    /// (coefficients apply to inputs normalised to `E‖x‖ = √d`).
    pub sparsity: std::collections::BTreeMap<String, Vec<f64>>,
    /// `d_sae = width_factor · d_in`.
    pub width_factor: usize,
    /// Training seed (initialisation and the order rows are streamed in).
    pub seed: u64,
    /// Optimiser steps per real SAE.
    pub steps: u64,
    /// Rows per step.
    pub batch_size: usize,
    /// Peak AdamW learning rate.
    pub lr: f64,
    /// Document `i` of the cache is held out iff `i % held_out_every ==
    /// held_out_every − 1` (document level: no held-out token's document is
    /// ever trained on).
    pub held_out_every: usize,
    /// Rows at window position below this are neither trained nor evaluated
    /// on (1: drop the attention-sink first token of every window; see
    /// [`super::DocumentSplit`]).
    pub min_position: u32,
    /// Rows whose norm exceeds this factor × the median row norm (of the
    /// first training shard) are neither trained nor evaluated on
    /// (attention sinks away from position 0); 0 disables.
    pub outlier_norm_factor: f64,
    /// At most this many held-out tokens are evaluated (whole documents in a
    /// seeded order; the last one may be cut).
    pub eval_tokens: usize,
    /// Bootstrap resamples of held-out documents for every interval.
    pub bootstrap_resamples: usize,
    /// Two-sided confidence level of the intervals.
    pub confidence: f64,
    /// Seed of the held-out document order, the bootstrap, and ρ's bootstrap.
    pub bootstrap_seed: u64,
    /// Caches whose training split is at most this many bytes of activations
    /// are held in memory while training (else streamed shard by shard).
    pub resident_bytes: u64,
    /// Optimiser steps per toy counterpart SAE (0: no toy comparison).
    pub toy_steps: u64,
    /// Held-out toy rows for the toy counterparts' scores.
    pub toy_eval_samples: usize,
    /// Further training hyperparameters passed to every plugin.
    pub hyperparameters: serde_json::Map<String, serde_json::Value>,
}

impl RealSettings {
    /// Checks what serde cannot; errors name the `[real]` field.
    pub fn validate(&self) -> Result<()> {
        super::validate_sparsity("real", &self.architectures, &self.sparsity)?;
        ensure!(
            self.width_factor > 0,
            "[real].width_factor must be positive"
        );
        ensure!(self.batch_size > 0, "[real].batch_size must be positive");
        ensure!(
            self.held_out_every >= 2,
            "[real].held_out_every = {} must be at least 2 (1 would hold out every document)",
            self.held_out_every
        );
        ensure!(self.eval_tokens > 0, "[real].eval_tokens must be positive");
        ensure!(
            self.confidence > 0.0 && self.confidence < 1.0,
            "[real].confidence = {} is outside (0, 1)",
            self.confidence
        );
        Ok(())
    }
}

//! `real.json`: everything one `rdpbench real` run measured.

use crate::results::PluginError;
use crate::results::PluginRecord;
use crate::results::train::Sparsity;
use crate::results::validity::{RhoEstimate, SaeScore};
use crate::settings::RealSettings;
use anyhow::{Context, Result};
use rdpbench_core::conditions::stats::quantile;
use rdpbench_sdk::{Input, Orientation};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// File name of the results beside `check.json`.
pub const REAL_FILE: &str = "real.json";
/// Version of the [`RealRun`] layout.
pub const REAL_SCHEMA_VERSION: u32 = 1;

/// What was evaluated: the cache and its split.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CacheSummary {
    /// The cache folder as given.
    pub dir: PathBuf,
    pub model_file: String,
    /// e.g. `SmolLM2-135M-Instruct`.
    pub model_name: String,
    pub model_sha256: String,
    pub d_model: usize,
    pub corpus: String,
    pub layer: usize,
    /// SAELens hook name, `blocks.{layer}.hook_resid_post`.
    pub hook_name: String,
    pub seq_len: usize,
    pub n_shards: usize,
    pub n_tokens: usize,
    /// Concept labels of the metrics (Brown: coarse POS tags).
    pub token_label_names: Vec<String>,
    pub train_documents: usize,
    pub held_out_documents: usize,
    /// Held-out tokens and documents evaluated (the bootstrap's units).
    pub eval_tokens: usize,
    pub eval_documents: Vec<u32>,
    /// The factor every row was multiplied by (`E‖x‖ ≈ √d` after it).
    pub activation_scale: f64,
}

/// One real SAE's held-out rate and distortion.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RealSaeRow {
    pub id: String,
    pub architecture: String,
    pub sparsity: Sparsity,
    pub d_sae: usize,
    pub seed: u64,
    /// SAELens folder, relative to the results folder.
    pub folder: PathBuf,
    pub quality: Quality,
}

/// The toy counterpart of one configuration (same id).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToyRow {
    pub id: String,
    pub l0: Option<f64>,
    pub explained_variance: Option<f64>,
    pub p_gt: Option<f64>,
    pub mcc: Option<f64>,
}

/// One metric on the real SAEs and how it ranks them against toy data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RealMetric {
    pub id: String,
    pub version: String,
    pub oracle: bool,
    pub orientation: Orientation,
    pub inputs: Vec<Input>,
    /// Why the metric was not evaluated (oracles: no ground truth on real data).
    pub not_applicable: Option<String>,
    /// One per real SAE, in row order (empty when not applicable).
    pub scores: Vec<MetricScore>,
    pub n_defined: usize,
    pub n_undefined: usize,
    pub n_errors: usize,
    /// Its scores on the toy counterparts, in the same order (empty without them).
    pub toy_scores: Vec<SaeScore>,
    /// Spearman ρ (over configurations) of its real scores vs its toy scores.
    pub rank_vs_toy: Option<RhoEstimate>,
    /// Spearman ρ of its real scores vs the toy counterparts' `P_gt`.
    pub rank_vs_toy_p_gt: Option<RhoEstimate>,
}

/// `real.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RealRun {
    pub schema_version: u32,
    pub tool: String,
    pub tool_version: String,
    pub settings: RealSettings,
    pub cache: CacheSummary,
    pub plugins: Vec<PluginRecord>,
    pub plugin_errors: Vec<PluginError>,
    pub saes: Vec<RealSaeRow>,
    /// Toy counterparts in `saes` order (empty with `toy_steps = 0`).
    pub toy: Vec<ToyRow>,
    pub metrics: Vec<RealMetric>,
}

impl RealRun {
    /// Reads a stored `real.json`, naming the file on failure.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        Self::parse(&text, &path.display().to_string())
    }

    /// Parses a `real.json`'s text; `origin` (a path) names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Self> {
        let run: Self =
            serde_json::from_str(text).with_context(|| format!("{origin} is not a real.json"))?;
        anyhow::ensure!(
            run.schema_version == REAL_SCHEMA_VERSION,
            "{origin}: schema_version {} (this rdpbench reads {REAL_SCHEMA_VERSION})",
            run.schema_version
        );
        Ok(run)
    }

    pub fn metric(&self, id: &str) -> Option<&RealMetric> {
        self.metrics.iter().find(|m| m.id == id)
    }
}

/// A point estimate with its bootstrap interval.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Estimate {
    /// On every held-out row; `None` when undefined.
    pub value: Option<f64>,
    /// Percentile interval; `None` when the value is undefined or fewer than
    /// half the resamples gave a defined value.
    pub ci: Option<[f64; 2]>,
    pub n_resamples: usize,
    pub n_resamples_defined: usize,
}

impl Estimate {
    /// From the point value and the resampled values (`None`: undefined).
    pub fn new(value: Option<f64>, resampled: &[Option<f64>], confidence: f64) -> Self {
        let defined: Vec<f64> = resampled.iter().flatten().copied().collect();
        let ci = (value.is_some() && !defined.is_empty() && 2 * defined.len() >= resampled.len())
            .then(|| {
                let a = (1.0 - confidence) / 2.0;
                [quantile(&defined, a), quantile(&defined, 1.0 - a)]
            });
        Self {
            value,
            ci,
            n_resamples: resampled.len(),
            n_resamples_defined: defined.len(),
        }
    }
}

/// Rate and distortion on the held-out rows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Quality {
    /// Mean non-zero codes per token.
    pub l0: Estimate,
    /// `EV = 1 − E‖x−x̂‖² / (E‖x‖² − ‖E x‖²)` on the scaled inputs.
    pub explained_variance: Estimate,
    /// Per-element MSE on the scaled inputs (`E‖x‖ ≈ √d_model`).
    pub mse: Estimate,
    /// Latents that fire on at least one held-out token.
    pub n_live: usize,
}

/// One metric's score on one real SAE with its interval.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricScore {
    /// On every held-out token (oriented: higher = more polysemantic).
    pub score: SaeScore,
    /// Percentile interval over the document resamples (`None`: undefined).
    pub ci: Option<[f64; 2]>,
    pub n_resamples: usize,
    pub n_resamples_defined: usize,
    /// Resamples on which the metric errored.
    pub n_resamples_errors: usize,
}

/// The cache a real SAE was trained on, as recorded in its job record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CacheIdentity {
    pub model_file: String,
    pub model_sha256: String,
    pub corpus: String,
    pub layer: usize,
    pub seq_len: usize,
    /// SHA-256 of every shard, in order.
    pub shards: Vec<String>,
}

/// One real SAE to train (its record decides resume).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RealJob {
    /// Folder name, e.g. `topk-w2304-k8-s0`.
    pub id: String,
    pub architecture: String,
    pub d_sae: usize,
    pub sparsity: Sparsity,
    pub seed: u64,
    /// Everything passed to the plugin.
    pub hyperparameters: serde_json::Value,
    pub cache: CacheIdentity,
    pub split: DocumentSplit,
    /// The factor every input row was multiplied by.
    pub activation_scale: f64,
}

/// Document `i` is held out iff `i % every == every − 1`; every other
/// document is training data. The split is by document, so no token of a
/// held-out document (nor its neighbours in the same window) is ever seen in
/// training, and it depends only on the document index, so it is the same
/// for every cache of the same corpus however many tokens it holds.
///
/// Rows at window position `< min_position` belong to neither part: in
/// SmolLM2 the first token of every window is an attention sink whose
/// residual norm is ~100x the others' (measured at layer 15 on Brown: norms
/// ~2·10⁴ vs a median of ~170; 0.8% of the rows held 98.9% of the total
/// variance), so keeping it would make EV measure those rows only. The sink
/// is not always at position 0 (one Brown window had it at position 1, norm
/// 2.6·10⁴), so rows with `‖x‖ > max_norm` are dropped too (`max_norm` =
/// `[real].outlier_norm_factor` × the median norm of the first training
/// shard's rows; `None`: no norm filter).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct DocumentSplit {
    pub held_out_every: usize,
    pub min_position: u32,
    pub max_norm: Option<f32>,
}

impl DocumentSplit {
    /// Whether document `doc` is held out.
    pub fn is_held_out(&self, doc: u32) -> bool {
        let every = self.held_out_every as u64;
        every > 0 && u64::from(doc) % every == every - 1
    }

    /// Whether a row at window position `position` is used at all.
    pub fn keeps_position(&self, position: u32) -> bool {
        position >= self.min_position
    }

    /// Whether a row at `position` with activations `x` is used at all.
    pub fn keeps_row(&self, position: u32, x: &[f32]) -> bool {
        self.keeps_position(position)
            && self
                .max_norm
                .is_none_or(|m| x.iter().map(|v| v * v).sum::<f32>().sqrt() <= m)
    }

    /// Documents `0..n_documents` (a cache's: its last shard's `doc_end`) in
    /// each part: `(train, held_out)`, ascending.
    pub fn documents(&self, n_documents: u32) -> (Vec<u32>, Vec<u32>) {
        (0..n_documents).partition(|&d| !self.is_held_out(d))
    }
}

#[cfg(test)]
mod document_split_tests {
    use super::*;

    #[test]
    fn every_fifth_document_is_held_out() {
        let s = DocumentSplit {
            held_out_every: 5,
            min_position: 1,
            max_norm: Some(5.0),
        };
        assert!(!s.keeps_position(0) && s.keeps_position(1));
        assert!(s.keeps_row(1, &[3.0, 4.0]) && !s.keeps_row(1, &[3.0, 4.1]));
        assert!(!s.keeps_row(0, &[0.0, 0.0]));
        let held: Vec<u32> = (0..12).filter(|&d| s.is_held_out(d)).collect();
        assert_eq!(held, vec![4, 9]);
    }
}

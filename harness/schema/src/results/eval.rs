//! `eval.json`: what one `rdpbench eval` run measured, per SAE.
//!
//! The core numbers carry SAELens 6.x evals' names and definitions
//! (`sae_lens.evals.get_sparsity_and_variance_metrics`; SAEBench's core
//! eval reports the same names); docs/eval.md defines each one.

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// Version of the [`EvalRun`] layout.
pub const EVAL_SCHEMA_VERSION: u32 = 1;

/// The whole run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvalRun {
    pub schema_version: u32,
    pub activations: ActivationsSource,
    /// The labels file, when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<String>,
    pub settings: EvalSettings,
    pub saes: Vec<EvalSae>,
}

/// Where the activations came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActivationsSource {
    pub path: String,
    /// `safetensors`, `npy` or `cache`.
    pub format: String,
    /// The tensor read (safetensors), else empty.
    #[serde(default)]
    pub key: String,
    /// The stored dtype (`f32`, `f16`, `bf16`, `f64`); rdpbench computes in f32.
    pub dtype: String,
    pub n_tokens: usize,
    pub d_in: usize,
}

/// The settings every number depends on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvalSettings {
    /// Rows per batch for the two batch-dependent numbers
    /// (`explained_variance_legacy`, `relative_reconstruction_bias`), as
    /// SAELens's `eval_batch_size_prompts × context_size`.
    pub batch_tokens: usize,
    /// A latent is dense when it fires on more than this fraction of tokens.
    pub dense_threshold: f64,
    /// Metric plugins are scored on the first `metric_tokens` tokens.
    pub metric_tokens: usize,
    /// Token bootstrap of the metric plugins.
    pub resamples: usize,
    pub confidence: f64,
    pub seed: u64,
}

/// One SAE's numbers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvalSae {
    /// The folder.
    pub path: String,
    /// `cfg.json`'s `architecture`.
    pub architecture: String,
    /// The SAE plugin that encoded it.
    pub plugin: String,
    pub d_in: usize,
    pub d_sae: usize,
    pub n_tokens: usize,
    /// Every function-changing cfg field and the value honoured (SAELens's
    /// default filled in where the folder has none).
    pub cfg: BTreeMap<String, serde_json::Value>,
    /// Mean number of non-zero codes per token.
    pub l0: f64,
    /// Mean `Σ_j |f_j|` per token.
    pub l1: f64,
    /// Mean per-token `‖x − x̂‖²` (SAELens evals' `mse`).
    pub mse: f64,
    /// `mse / d_in`: the mean squared error per element.
    pub mse_elementwise: f64,
    /// `1 − mse / (E‖x‖² − ‖E x‖²)` over all tokens (SAELens's current).
    pub explained_variance: Option<f64>,
    /// Mean over tokens of `1 − ‖x − x̂‖² / ‖x − x̄_batch‖²`, `x̄_batch` the
    /// mean of the token's batch (SAELens's `explained_variance_legacy`).
    pub explained_variance_legacy: Option<f64>,
    /// Mean cosine of `x` and `x̂` (SAELens `cossim`).
    pub cossim: Option<f64>,
    pub l2_norm_in: f64,
    pub l2_norm_out: f64,
    /// Mean `‖x̂‖ / ‖x‖` (`‖x‖ < 1e-4` counted as 1, as SAELens).
    pub l2_ratio: f64,
    /// Mean over batches of `E‖x̂‖² / E⟨x, x̂⟩` (Rajamanoharan et al. 2024, eq. 10).
    pub relative_reconstruction_bias: Option<f64>,
    /// Fraction of latents that never fire.
    pub dead_fraction: f64,
    /// Fraction of latents firing on more than `dense_threshold` of tokens.
    pub dense_fraction: f64,
    /// Metric plugins by id.
    pub metrics: BTreeMap<String, EvalMetric>,
}

/// One metric plugin's value on one SAE (raw, in the metric's own
/// orientation), with its token-bootstrap interval.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvalMetric {
    pub value: Option<f64>,
    pub ci_low: Option<f64>,
    pub ci_high: Option<f64>,
    /// `higher_is_more_polysemantic` or `higher_is_less_polysemantic`.
    pub orientation: String,
    pub n_resamples: usize,
    pub n_resamples_defined: usize,
    /// Why there is no value (undefined, error, missing input).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// The metric's verdicts from a `check.json` (conditions passed / run,
    /// and the failed ones), when one was found.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check: Option<CheckSummary>,
}

/// How a metric fared in `rdpbench check`: which columns to trust.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckSummary {
    pub passed: usize,
    pub total: usize,
    pub failed: Vec<String>,
}

impl EvalRun {
    /// Reads a stored `eval.json`, naming the file on failure.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        Self::parse(&text, &path.display().to_string())
    }

    /// Parses an `eval.json`'s text; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Self> {
        let run: Self =
            serde_json::from_str(text).with_context(|| format!("{origin} is not an eval.json"))?;
        anyhow::ensure!(
            run.schema_version == EVAL_SCHEMA_VERSION,
            "{origin}: schema_version {} (this rdpbench reads {EVAL_SCHEMA_VERSION})",
            run.schema_version
        );
        Ok(run)
    }

    /// Every metric id scored on some SAE, sorted.
    pub fn metric_ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = self
            .saes
            .iter()
            .flat_map(|s| s.metrics.keys().cloned())
            .collect();
        ids.sort();
        ids.dedup();
        ids
    }
}

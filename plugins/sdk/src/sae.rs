//! The safe trait an SAE-architecture author implements (ABI slot v1).
//!
//! An architecture plugin owns its math (encode, decode, loss) and its
//! training; the host owns the data and the weights that come back. Weights
//! cross as named `f32` tensors whose names and shapes follow SAELens v6
//! (`W_enc [d_in, d_sae]`, `b_enc [d_sae]`, `W_dec [d_sae, d_in]`, `b_dec [d_in]`, ...).

use crate::data::{CsrMatrix, MatrixView};
use serde::{Deserialize, Serialize};

/// What an architecture declares about itself. Crosses the ABI as JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SaeSpec {
    /// Unique id, e.g. `topk`.
    pub id: String,
    pub version: String,
    pub description: String,
    pub citation: String,
    /// The SAELens v6 `architecture` string its weights are saved under.
    pub saelens_architecture: String,
    /// Default hyperparameters, JSON object; a training config overrides them.
    #[serde(default)]
    pub default_hyperparameters: serde_json::Value,
    /// TEMPORARY (replaced by the SDK split's declaration).
    #[serde(default)]
    pub sparsity_knob: Option<String>,
}

/// One named tensor, row-major `f32`.
#[derive(Debug, Clone, PartialEq)]
pub struct NamedTensor {
    pub name: String,
    pub shape: Vec<usize>,
    pub data: Vec<f32>,
}

/// A trained SAE: its `cfg.json` content and its tensors.
#[derive(Debug, Clone, PartialEq)]
pub struct SaeWeights {
    pub cfg_json: String,
    pub tensors: Vec<NamedTensor>,
}

impl SaeWeights {
    pub fn tensor(&self, name: &str) -> anyhow::Result<&NamedTensor> {
        self.tensors
            .iter()
            .find(|t| t.name == name)
            .ok_or_else(|| anyhow::anyhow!("SAE weights have no tensor named `{name}`"))
    }
}

/// Where training batches come from: the host streams `[rows, d_in]` batches.
pub trait BatchSource {
    fn d_in(&self) -> usize;
    /// Fills `out` (capacity `rows * d_in`) with up to `rows` rows and returns
    /// how many it wrote; 0 means the stream is exhausted.
    fn next_batch(&mut self, out: &mut [f32], rows: usize) -> anyhow::Result<usize>;
}

/// Receives progress during training (JSON object per report). Default: ignore.
pub trait TrainObserver {
    fn on_progress(&mut self, _step: u64, _total_steps: u64, _metrics_json: &str) {}
}

/// A no-op observer.
#[derive(Debug, Default)]
pub struct NoProgress;
impl TrainObserver for NoProgress {}

/// Everything one training run needs.
pub struct TrainRequest<'a> {
    /// Hyperparameters as a JSON object (merged over the spec's defaults by the host).
    pub config: &'a str,
    pub data: &'a mut dyn BatchSource,
    pub observer: &'a mut dyn TrainObserver,
}

impl std::fmt::Debug for TrainRequest<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TrainRequest")
            .field("config", &self.config)
            .field("d_in", &self.data.d_in())
            .finish_non_exhaustive()
    }
}

/// An SAE architecture.
pub trait SaeArchitecture: Send + Sync {
    fn spec(&self) -> SaeSpec;
    /// Trains one SAE on the streamed data.
    fn train(&self, request: TrainRequest<'_>) -> anyhow::Result<SaeWeights>;
    /// Codes of `x` `[n_tokens, d_in]` as CSR `[n_tokens, d_sae]`.
    fn encode(&self, weights: &SaeWeights, x: MatrixView<'_>) -> anyhow::Result<CsrMatrix>;
}

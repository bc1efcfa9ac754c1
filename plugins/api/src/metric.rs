//! The safe trait a metric author implements, and the values it declares.

use crate::data::{CsrView, MatrixView};
use serde::{Deserialize, Serialize};

/// Which way a metric points. The harness orients every score so that
/// *higher = more polysemantic* before comparing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Orientation {
    /// A larger value means the SAE is more polysemantic.
    HigherIsMorePolysemantic,
    /// A larger value means the SAE is more monosemantic.
    HigherIsLessPolysemantic,
}

impl Orientation {
    /// Maps a raw score to the "higher = more polysemantic" orientation.
    pub fn orient(self, value: f64) -> f64 {
        match self {
            Orientation::HigherIsMorePolysemantic => value,
            Orientation::HigherIsLessPolysemantic => -value,
        }
    }
}

/// One input a metric may read. The host passes a metric exactly the inputs
/// it declares, and nothing else: a metric that does not declare the decoder
/// never sees it. That is what makes a verdict "structurally blind" or
/// "vacuous" a property of the inputs, not of the scores.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Input {
    /// `W_dec` `[d_sae, d_in]`.
    Decoder,
    /// `W_enc` `[d_in, d_sae]`. Oracle SAEs have one only where it is faithful.
    Encoder,
    /// SAE inputs `x` `[n_tokens, d_in]`.
    Activations,
    /// Sparse codes, CSR `[n_tokens, d_sae]`.
    Codes,
    /// Binary concept labels, CSR pattern `[n_tokens, n_concepts]`.
    Labels,
    /// Ground-truth concept directions `V` `[n_concepts, d_in]`. Only oracle
    /// scores may read this; a metric that declares it is labelled an oracle
    /// everywhere, because real data has no `V`.
    ConceptDirections,
}

impl Input {
    pub const ALL: [Input; 6] = [
        Input::Decoder,
        Input::Encoder,
        Input::Activations,
        Input::Codes,
        Input::Labels,
        Input::ConceptDirections,
    ];

    pub(crate) fn bit(self) -> u32 {
        1 << (self as u32)
    }

    pub fn name(self) -> &'static str {
        match self {
            Input::Decoder => "decoder",
            Input::Encoder => "encoder",
            Input::Activations => "activations",
            Input::Codes => "codes",
            Input::Labels => "labels",
            Input::ConceptDirections => "concept_directions",
        }
    }
}

/// What a metric declares about itself. Crosses the ABI as JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricSpec {
    /// Unique id, lowercase with dashes, e.g. `mean-max-decoder-cosine`.
    pub id: String,
    /// Version of this metric's definition (not of the crate).
    pub version: String,
    /// One sentence: what it measures.
    pub description: String,
    /// Where the formula comes from (paper, equation, reference code).
    pub citation: String,
    pub orientation: Orientation,
    /// The inputs the metric reads; the host passes exactly these.
    pub inputs: Vec<Input>,
    /// Worked examples with known answers; `testing::check_examples` replays them.
    #[serde(default)]
    pub examples: Vec<Example>,
}

impl MetricSpec {
    pub fn reads(&self, input: Input) -> bool {
        self.inputs.contains(&input)
    }

    /// True when the metric reads the ground-truth directions: an oracle.
    pub fn is_oracle(&self) -> bool {
        self.reads(Input::ConceptDirections)
    }

    /// Checks the fields a host relies on: a well-formed id and no repeated input.
    pub fn validate(&self) -> anyhow::Result<()> {
        let ok = !self.id.is_empty()
            && self.id.len() <= 64
            && self
                .id
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
            && self.id.as_bytes()[0].is_ascii_alphanumeric();
        anyhow::ensure!(
            ok,
            "metric id {:?} must be 1-64 chars of [a-z0-9_-], starting with a letter or digit",
            self.id
        );
        let mut seen = 0u32;
        for i in &self.inputs {
            anyhow::ensure!(
                seen & i.bit() == 0,
                "metric {:?} lists input {:?} twice",
                self.id,
                i.name()
            );
            seen |= i.bit();
        }
        Ok(())
    }
}

/// A declared claim: on this tiny input the metric returns this value.
/// Inputs are small dense matrices written out in full, so an example
/// doubles as documentation.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Example {
    pub description: String,
    /// `[d_sae, d_in]`, row-major rows.
    #[serde(default)]
    pub decoder: Option<Vec<Vec<f32>>>,
    /// `[d_in, d_sae]`.
    #[serde(default)]
    pub encoder: Option<Vec<Vec<f32>>>,
    /// `[n_tokens, d_in]`.
    #[serde(default)]
    pub activations: Option<Vec<Vec<f32>>>,
    /// Dense codes `[n_tokens, d_sae]` (zeros are dropped when converted to CSR).
    #[serde(default)]
    pub codes: Option<Vec<Vec<f32>>>,
    /// Dense 0/1 labels `[n_tokens, n_concepts]`.
    #[serde(default)]
    pub labels: Option<Vec<Vec<f32>>>,
    /// `[n_concepts, d_in]`.
    #[serde(default)]
    pub concept_directions: Option<Vec<Vec<f32>>>,
    /// `Some(v)`: the metric must return `v` (within 1e-6 relative);
    /// `None`: it must return "undefined".
    pub expected: Option<f64>,
}

/// The inputs of one metric evaluation. Fields the metric did not declare
/// are `None`. The `d_*` sizes are always set, even when the matrices that
/// carry them are withheld.
#[derive(Debug, Clone, Copy)]
pub struct MetricInput<'a> {
    pub n_tokens: usize,
    pub d_in: usize,
    pub d_sae: usize,
    pub n_concepts: usize,
    pub decoder: Option<MatrixView<'a>>,
    pub encoder: Option<MatrixView<'a>>,
    pub activations: Option<MatrixView<'a>>,
    pub codes: Option<CsrView<'a>>,
    pub labels: Option<CsrView<'a>>,
    pub concept_directions: Option<MatrixView<'a>>,
    /// Metric-specific options as JSON text (`"{}"` when none).
    pub config: &'a str,
    /// Whether the caller wants per-latent scores. When `false` a metric may
    /// skip them (and the host drops any it returns); the value must not change.
    pub per_latent: bool,
}

impl<'a> MetricInput<'a> {
    fn missing(name: &str) -> anyhow::Error {
        anyhow::anyhow!("input `{name}` was not provided: declare it in MetricSpec::inputs")
    }
    pub fn decoder(&self) -> anyhow::Result<MatrixView<'a>> {
        self.decoder.ok_or_else(|| Self::missing("decoder"))
    }
    pub fn encoder(&self) -> anyhow::Result<MatrixView<'a>> {
        self.encoder.ok_or_else(|| Self::missing("encoder"))
    }
    pub fn activations(&self) -> anyhow::Result<MatrixView<'a>> {
        self.activations.ok_or_else(|| Self::missing("activations"))
    }
    pub fn codes(&self) -> anyhow::Result<CsrView<'a>> {
        self.codes.ok_or_else(|| Self::missing("codes"))
    }
    pub fn labels(&self) -> anyhow::Result<CsrView<'a>> {
        self.labels.ok_or_else(|| Self::missing("labels"))
    }
    pub fn concept_directions(&self) -> anyhow::Result<MatrixView<'a>> {
        self.concept_directions
            .ok_or_else(|| Self::missing("concept_directions"))
    }
}

/// What a metric returns: a finite score, or an explicit "undefined" with a
/// reason. A NaN or infinite score is rejected by the host as a plugin error.
#[derive(Debug, Clone, PartialEq)]
pub enum MetricOutput {
    Value {
        value: f64,
        /// Optional per-latent scores, `[d_sae]`; `None` marks a latent on
        /// which the score is undefined (dead, constant, ...).
        per_latent: Option<Vec<Option<f64>>>,
    },
    Undefined {
        reason: String,
    },
}

impl MetricOutput {
    pub fn value(value: f64) -> Self {
        MetricOutput::Value {
            value,
            per_latent: None,
        }
    }

    pub fn undefined(reason: impl Into<String>) -> Self {
        MetricOutput::Undefined {
            reason: reason.into(),
        }
    }

    /// The score, or `None` when undefined.
    pub fn as_value(&self) -> Option<f64> {
        match self {
            MetricOutput::Value { value, .. } => Some(*value),
            MetricOutput::Undefined { .. } => None,
        }
    }
}

/// A polysemanticity metric. Implement this, then export it with
/// `rdpbench_sdk::export_plugin!`.
///
/// `compute` must be a pure function of its input: the same input gives a
/// bit-identical output (condition C9), so use fixed-order reductions.
pub trait Metric: Send + Sync {
    fn spec(&self) -> MetricSpec;
    fn compute(&self, input: &MetricInput<'_>) -> anyhow::Result<MetricOutput>;
}

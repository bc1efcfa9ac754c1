//! What an architecture plugin implements: its parameters, its training
//! forward pass (codes, reconstruction, its own loss terms) and its inference
//! encoder. Everything else (data, AdamW, schedule, decoder norms, dead
//! latents, AuxK, held-out reports, export) is this crate's [`train`](crate::train).

use super::TrainConfig;
use anyhow::{Context as _, Result};
use candle_core::{Device, Tensor};
use std::collections::{BTreeMap, HashMap};

/// Shapes of one SAE.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dims {
    pub d_in: usize,
    pub d_sae: usize,
}

/// How a parameter starts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Init {
    /// All zeros.
    Zeros,
    /// All equal to the value.
    Const(f64),
    /// `W_dec [d_sae, d_in]`: i.i.d. Gaussian rows rescaled to unit norm.
    UnitRows,
    /// `[d_in, d_sae]`: the transpose of the `UnitRows` parameter named here
    /// (encoder initialised as the decoder's transpose, Gao et al. 2024).
    TransposeOf(&'static str),
}

/// One trainable parameter.
#[derive(Debug, Clone, PartialEq)]
pub struct ParamSpec {
    pub name: &'static str,
    pub shape: Vec<usize>,
    pub init: Init,
}

/// The SAELens-standard four parameters: `W_enc [d_in, d_sae]` (initialised
/// as `W_decᵀ`), `b_enc [d_sae]`, `W_dec [d_sae, d_in]` (unit rows), `b_dec [d_in]`.
pub fn standard_params(d: Dims) -> Vec<ParamSpec> {
    vec![
        ParamSpec {
            name: "W_dec",
            shape: vec![d.d_sae, d.d_in],
            init: Init::UnitRows,
        },
        ParamSpec {
            name: "W_enc",
            shape: vec![d.d_in, d.d_sae],
            init: Init::TransposeOf("W_dec"),
        },
        ParamSpec {
            name: "b_enc",
            shape: vec![d.d_sae],
            init: Init::Zeros,
        },
        ParamSpec {
            name: "b_dec",
            shape: vec![d.d_in],
            init: Init::Zeros,
        },
    ]
}

/// Named tensors (parameters while training, SAELens tensors at inference).
#[derive(Debug, Clone, Default)]
pub struct Params {
    map: HashMap<String, Tensor>,
}

impl Params {
    pub fn new(map: HashMap<String, Tensor>) -> Self {
        Self { map }
    }

    /// The tensor `name`, or an error naming it and what exists.
    pub fn get(&self, name: &str) -> candle_core::Result<&Tensor> {
        self.map.get(name).ok_or_else(|| {
            let mut have: Vec<&String> = self.map.keys().collect();
            have.sort();
            candle_core::Error::Msg(format!("SAE has no tensor `{name}` (it has {have:?})"))
        })
    }

    pub fn insert(&mut self, name: impl Into<String>, t: Tensor) {
        self.map.insert(name.into(), t);
    }

    pub fn names(&self) -> impl Iterator<Item = &String> {
        self.map.keys()
    }
}

/// Scalar state an architecture keeps across steps (e.g. BatchTopK's running
/// threshold). Exported through [`Architecture::export`].
pub type Buffers = BTreeMap<String, f64>;

/// Output of one training forward pass.
#[derive(Debug)]
pub struct Forward {
    /// Codes `[batch, d_sae]` (≥ 0; zero = not firing).
    pub codes: Tensor,
    /// Reconstruction `[batch, d_in]`; the SDK adds `E‖x − x̂‖²` to the loss.
    pub x_hat: Tensor,
    /// The architecture's own loss terms (scalars, already weighted), by name.
    pub losses: Vec<(&'static str, Tensor)>,
    /// Non-negative pre-activations `[batch, d_sae]` for the AuxK loss; `None`
    /// for architectures without it.
    pub aux_pre_acts: Option<Tensor>,
}

/// Context of one training step.
#[derive(Debug)]
pub struct StepContext<'a> {
    pub config: &'a TrainConfig,
    pub dims: Dims,
    pub step: u64,
    /// Architecture state, read and written across steps.
    pub buffers: &'a mut Buffers,
}

/// An SAE architecture's math. Implementations are small: see the
/// `plugins/sae-*` crates.
pub trait Architecture: Send + Sync + 'static {
    /// Id, description, SAELens architecture string, default hyperparameters.
    fn spec(&self) -> rdpbench_api::sae::SaeSpec;

    /// Trainable parameters (default: [`standard_params`]).
    fn params(&self, dims: Dims, _config: &TrainConfig) -> Vec<ParamSpec> {
        standard_params(dims)
    }

    /// Initial buffers (default: none).
    fn init_buffers(&self, _dims: Dims, _config: &TrainConfig) -> Buffers {
        Buffers::new()
    }

    /// The training forward pass on `x: [batch, d_in]`.
    fn forward(
        &self,
        p: &Params,
        x: &Tensor,
        ctx: &mut StepContext<'_>,
    ) -> candle_core::Result<Forward>;

    /// Inference codes `[n, d_sae]` of `x: [n, d_in]` from SAELens-named
    /// tensors `w` and the parsed `cfg.json`.
    fn encode(&self, w: &Params, x: &Tensor, cfg: &serde_json::Value) -> Result<Tensor>;

    /// Inference codes of `x` straight to CSR `[n, d_sae]`, without a dense
    /// code tensor (for architectures whose codes are a row-wise selection,
    /// e.g. TopK). Must equal [`encode`](Self::encode) converted to CSR
    /// exactly. Default `None`: the SDK densifies `encode`'s output.
    fn encode_csr(
        &self,
        _w: &Params,
        _x: &Tensor,
        _cfg: &serde_json::Value,
    ) -> Result<Option<rdpbench_api::data::CsrMatrix>> {
        Ok(None)
    }

    /// The SAELens tensors to save (default: the parameters, unchanged).
    fn export(
        &self,
        p: &Params,
        _buffers: &Buffers,
        config: &TrainConfig,
        dims: Dims,
    ) -> Result<Vec<(String, Tensor)>> {
        self.params(dims, config)
            .iter()
            .map(|s| Ok((s.name.to_string(), p.get(s.name)?.clone())))
            .collect()
    }

    /// Declares that this architecture's training forward is a selection
    /// on the pre-activations `π = (x − b_dec) W_enc + b_enc`
    /// ([`relu_pre_activation`]), `f = π ⊙ [selected]`, decoded as
    /// `f W_dec + b_dec`, with the four [`standard_params`], the
    /// nested-prefix losses as its only loss terms, and `ReLU(π)` as the
    /// AuxK pre-activations (see [`crate::sparse_step::SparseTraining`]).
    /// The SDK then trains it on the CPU with the hand-written step of
    /// [`crate::sparse_step`] instead of [`forward`](Self::forward) and
    /// autograd: the same function, several times faster. A declaration
    /// that does not match `forward` is a bug the step-by-step comparison
    /// test of each plugin catches. Default `None` (always `forward`).
    fn sparse_training(&self, _config: &TrainConfig) -> Option<crate::sparse_step::SparseTraining> {
        None
    }

    /// Architecture-specific `cfg.json` fields (e.g. `{"k": 8}` for TopK).
    fn cfg_fields(&self, _config: &TrainConfig) -> serde_json::Map<String, serde_json::Value> {
        serde_json::Map::new()
    }
}

/// `(x − b_dec·apply) W_enc + b_enc`: the SAELens pre-activation, `[n, d_sae]`.
pub fn pre_activation(
    w_enc: &Tensor,
    b_enc: &Tensor,
    b_dec: &Tensor,
    x: &Tensor,
) -> candle_core::Result<Tensor> {
    x.broadcast_sub(b_dec)?.matmul(w_enc)?.broadcast_add(b_enc)
}

/// `ReLU((x − b_dec) W_enc + b_enc)`, `[n, d_sae]`, computed as
/// `ReLU(x W_enc + (b_enc − b_dec W_enc))`: the same function (up to `f32`
/// rounding), but `x` is data and gets no gradient, so the backward pass
/// needs one `[n, d_in] × [d_in, d_sae]` GEMM (`∂/∂W_enc`) instead of two,
/// and the bias and ReLU run in place on the GEMM's output
/// ([`super::fused::relu_linear`]). `b_dec`'s gradient arrives through the
/// `[d_sae]`-sized shift `b_dec W_enc`.
pub fn relu_pre_activation(
    w_enc: &Tensor,
    b_enc: &Tensor,
    b_dec: &Tensor,
    x: &Tensor,
) -> candle_core::Result<Tensor> {
    let shift = b_dec.unsqueeze(0)?.matmul(w_enc)?.squeeze(0)?;
    super::fused::relu_linear(x, w_enc, &(b_enc - shift)?)
}

/// `f W_dec + b_dec`: the linear decoder every supported architecture shares.
pub fn decode(codes: &Tensor, w_dec: &Tensor, b_dec: &Tensor) -> candle_core::Result<Tensor> {
    codes.matmul(w_dec)?.broadcast_add(b_dec)
}

/// [`decode`] for codes whose zeros have a zero derivative upstream (a
/// constant mask times pre-activations: TopK, BatchTopK, AuxK; or a ReLU):
/// the same function, computed over the non-zero codes only when at most 1/24
/// are non-zero ([`super::sparse_decode`]; `∂/∂f` is then returned on `f`'s
/// support, exact for such codes, not for a JumpReLU).
pub fn decode_sparse(
    codes: &Tensor,
    w_dec: &Tensor,
    b_dec: &Tensor,
) -> candle_core::Result<Tensor> {
    super::sparse_decode::sparse_decode(codes, w_dec)?.broadcast_add(b_dec)
}

/// A `u64`/`usize` field of a parsed `cfg.json`, or an error naming it.
pub fn cfg_usize(cfg: &serde_json::Value, field: &str) -> Result<usize> {
    cfg.get(field)
        .and_then(|v| v.as_f64())
        .filter(|v| *v >= 0.0 && v.fract() == 0.0)
        .map(|v| v as usize)
        .with_context(|| {
            format!("cfg.json: field `{field}` is missing or not a non-negative integer")
        })
}

/// The device a config names.
pub fn device(name: &str) -> Result<Device> {
    match name {
        "cpu" => Ok(Device::Cpu),
        s if s == "cuda" || s.starts_with("cuda:") => {
            let ordinal = s
                .strip_prefix("cuda:")
                .map(str::parse)
                .transpose()?
                .unwrap_or(0);
            Device::new_cuda(ordinal).with_context(|| {
                format!("device `{s}`: CUDA unavailable (build with the `cuda` feature; see scripts/cuda-setup.sh)")
            })
        }
        other => anyhow::bail!("unknown device `{other}` (use `cpu`, `cuda` or `cuda:N`)"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::SplitMix64;
    use candle_core::Var;

    /// The fused pre-activation equals the reference composition
    /// `pre_activation(..)?.relu()` in value and in every parameter gradient.
    #[test]
    fn relu_pre_activation_equals_reference_composition() -> anyhow::Result<()> {
        let dev = Device::Cpu;
        let (n, d, f) = (70, 5, 9);
        let mut g = SplitMix64::new(11, 0);
        let mut randn = |len: usize| -> Vec<f32> { (0..len).map(|_| g.normal() as f32).collect() };
        let (xv, wv, bev, bdv, gv) = (randn(n * d), randn(d * f), randn(f), randn(d), randn(n * f));
        let x = Tensor::from_vec(xv, (n, d), &dev)?;
        let upstream = Tensor::from_vec(gv, (n, f), &dev)?;
        let run = |fused: bool| -> anyhow::Result<Vec<Vec<f32>>> {
            let w = Var::from_vec(wv.clone(), (d, f), &dev)?;
            let be = Var::from_vec(bev.clone(), f, &dev)?;
            let bd = Var::from_vec(bdv.clone(), d, &dev)?;
            let (w_, be_, bd_) = (w.as_tensor(), be.as_tensor(), bd.as_tensor());
            let codes = if fused {
                relu_pre_activation(w_, be_, bd_, &x)?
            } else {
                pre_activation(w_, be_, bd_, &x)?.relu()?
            };
            let grads = (&codes * &upstream)?.sum_all()?.backward()?;
            let mut out = vec![codes.flatten_all()?.to_vec1()?];
            for t in [w_, be_, bd_] {
                out.push(grads.get(t).expect("gradient").flatten_all()?.to_vec1()?);
            }
            Ok(out)
        };
        let (a, b) = (run(true)?, run(false)?);
        for (what, (u, v)) in ["codes", "dW_enc", "db_enc", "db_dec"]
            .iter()
            .zip(a.iter().zip(&b))
        {
            for (p, q) in u.iter().zip(v) {
                assert!(
                    (p - q).abs() <= 1e-4 * (1.0 + q.abs()),
                    "{what}: fused {p} vs reference {q}"
                );
            }
        }
        Ok(())
    }
}

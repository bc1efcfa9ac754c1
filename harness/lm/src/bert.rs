//! A BERT encoder forward (all-MiniLM-L6-v2: 6 layers, d = 384, 12 heads, d_ff = 1536)
//! over safetensors weights, returning the hidden state after a chosen layer.
//!
//! Input: token ids `[B, T]` and a padding mask `m ∈ {0,1}^[B, T]` (1 = real token).
//! Embeddings: `x = LN(E_word[id] + E_pos[t] + E_type[0])` `[B, T, d]`, with
//! `LN(z) = (z − mean(z)) / sqrt(var(z) + ε) · γ + β` over the last axis.
//! Layer `l` (post-LN), `H` heads of `hd = d/H`:
//! - `q, k, v = x W_{q,k,v}ᵀ + b_{q,k,v}` reshaped to `[B, H, T, hd]`;
//! - `A = softmax(q kᵀ / sqrt(hd) + M)` with `M[b, ·, ·, j] = −∞` where `m[b, j] = 0`
//!   (padded keys get zero weight) and 0 elsewhere;
//! - `x = LN(x + concat_heads(A v) W_oᵀ + b_o)`;
//! - `x = LN(x + GELU(x W_iᵀ + b_i) W_o2ᵀ + b_o2)`, `GELU(z) = z·Φ(z)` (erf form).
//!
//! "Hidden state after layer `l`" (0-based) is `x` after layer `l`'s second LayerNorm
//! — Hugging Face's `hidden_states[l + 1]`. Rows of padded positions are computed but
//! meaningless; the unpadded rows do not depend on the padding (masked keys).
//! Tensors keep their on-disk names (`embeddings.word_embeddings.weight`,
//! `encoder.layer.{l}.attention.self.query.weight`, …; linear weights are `[out, in]`).

use anyhow::{Context, Result, bail, ensure};
use candle_core::{Device, Tensor};
use safetensors::{Dtype, SafeTensors};
use serde::Deserialize;
use std::path::Path;

/// Hyper-parameters from the model's `config.json` (Hugging Face `BertConfig` names).
#[derive(Debug, Clone, PartialEq, Deserialize, serde::Serialize)]
pub struct BertConfig {
    pub vocab_size: usize,
    pub hidden_size: usize,
    pub num_hidden_layers: usize,
    pub num_attention_heads: usize,
    pub intermediate_size: usize,
    pub max_position_embeddings: usize,
    pub type_vocab_size: usize,
    pub layer_norm_eps: f64,
    #[serde(default = "default_act")]
    pub hidden_act: String,
    #[serde(default = "default_position_type")]
    pub position_embedding_type: String,
}

fn default_act() -> String {
    "gelu".into()
}

fn default_position_type() -> String {
    "absolute".into()
}

impl BertConfig {
    /// Reads and checks a `config.json`; errors name the file and field.
    pub fn from_file(path: &Path) -> Result<Self> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let c: Self =
            serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
        c.check().with_context(|| format!("{}", path.display()))?;
        Ok(c)
    }

    /// Checks what this forward supports.
    pub fn check(&self) -> Result<()> {
        ensure!(
            self.hidden_act == "gelu",
            "hidden_act is '{}', only 'gelu' (erf) is supported",
            self.hidden_act
        );
        ensure!(
            self.position_embedding_type == "absolute",
            "position_embedding_type is '{}', only 'absolute' is supported",
            self.position_embedding_type
        );
        ensure!(
            self.num_attention_heads > 0
                && self.hidden_size.is_multiple_of(self.num_attention_heads),
            "hidden_size {} is not divisible by num_attention_heads {}",
            self.hidden_size,
            self.num_attention_heads
        );
        ensure!(
            self.num_hidden_layers > 0 && self.type_vocab_size > 0,
            "num_hidden_layers and type_vocab_size must be positive"
        );
        Ok(())
    }

    pub fn head_dim(&self) -> usize {
        self.hidden_size / self.num_attention_heads
    }
}

#[derive(Debug)]
struct Linear {
    /// `[out, in]`.
    weight: Tensor,
    /// `[out]`.
    bias: Tensor,
}

impl Linear {
    /// `x Wᵀ + b` for `x` `[.., in]`.
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let dims = x.dims().to_vec();
        let inner = *dims.last().expect("non-empty shape");
        let rows = x.elem_count() / inner;
        let y = x
            .reshape((rows, inner))?
            .matmul(&self.weight.t()?)?
            .broadcast_add(&self.bias)?;
        let mut out = dims;
        *out.last_mut().expect("non-empty shape") = self.weight.dim(0)?;
        Ok(y.reshape(out)?)
    }
}

#[derive(Debug)]
struct LayerNorm {
    weight: Tensor,
    bias: Tensor,
    eps: f32,
}

impl LayerNorm {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        Ok(candle_nn::ops::layer_norm(
            x,
            &self.weight,
            &self.bias,
            self.eps,
        )?)
    }
}

#[derive(Debug)]
struct Layer {
    query: Linear,
    key: Linear,
    value: Linear,
    attn_out: Linear,
    attn_norm: LayerNorm,
    intermediate: Linear,
    output: Linear,
    out_norm: LayerNorm,
}

/// The encoder: f32 weights on the CPU.
#[derive(Debug)]
pub struct Bert {
    pub config: BertConfig,
    word_embeddings: Tensor,
    position_embeddings: Tensor,
    token_type_embeddings: Tensor,
    embed_norm: LayerNorm,
    layers: Vec<Layer>,
    device: Device,
}

/// Reads f32 tensors by name from a safetensors file, checking dtype and shape.
struct WeightReader<'a> {
    st: SafeTensors<'a>,
    source: String,
    device: Device,
}

impl WeightReader<'_> {
    fn get(&self, name: &str, shape: &[usize]) -> Result<Tensor> {
        let t = self.st.tensor(name).with_context(|| {
            format!(
                "{}: tensor '{name}' is missing (expected F32 {shape:?})",
                self.source
            )
        })?;
        ensure!(
            t.dtype() == Dtype::F32,
            "{}: tensor '{name}' is {:?}, expected F32",
            self.source,
            t.dtype()
        );
        ensure!(
            t.shape() == shape,
            "{}: tensor '{name}' has shape {:?}, expected {shape:?}",
            self.source,
            t.shape()
        );
        let data: Vec<f32> = t
            .data()
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        Ok(Tensor::from_vec(data, shape, &self.device)?)
    }

    fn linear(&self, prefix: &str, out: usize, inp: usize) -> Result<Linear> {
        Ok(Linear {
            weight: self.get(&format!("{prefix}.weight"), &[out, inp])?,
            bias: self.get(&format!("{prefix}.bias"), &[out])?,
        })
    }

    fn layer_norm(&self, prefix: &str, d: usize, eps: f64) -> Result<LayerNorm> {
        Ok(LayerNorm {
            weight: self.get(&format!("{prefix}.weight"), &[d])?,
            bias: self.get(&format!("{prefix}.bias"), &[d])?,
            eps: eps as f32,
        })
    }
}

impl Bert {
    /// Loads `config.json` and `model.safetensors` from a folder.
    pub fn load_dir(dir: &Path) -> Result<Self> {
        let config = BertConfig::from_file(&dir.join("config.json"))?;
        Self::load(config, &dir.join("model.safetensors"))
    }

    /// Loads every encoder weight from a safetensors file (the pooler is not used).
    pub fn load(config: BertConfig, weights: &Path) -> Result<Self> {
        let bytes =
            std::fs::read(weights).with_context(|| format!("reading {}", weights.display()))?;
        Self::from_bytes(config, &bytes, &weights.display().to_string())
    }

    /// Loads from the bytes of a safetensors file; `source` names it in errors.
    pub fn from_bytes(config: BertConfig, bytes: &[u8], source: &str) -> Result<Self> {
        config.check().with_context(|| source.to_string())?;
        let st = SafeTensors::deserialize(bytes)
            .with_context(|| format!("{source}: not a safetensors file"))?;
        let r = WeightReader {
            st,
            source: source.to_string(),
            device: Device::Cpu,
        };
        let c = &config;
        let (d, eps) = (c.hidden_size, c.layer_norm_eps);
        let word_embeddings = r.get("embeddings.word_embeddings.weight", &[c.vocab_size, d])?;
        let position_embeddings = r.get(
            "embeddings.position_embeddings.weight",
            &[c.max_position_embeddings, d],
        )?;
        let token_type_embeddings = r.get(
            "embeddings.token_type_embeddings.weight",
            &[c.type_vocab_size, d],
        )?;
        let embed_norm = r.layer_norm("embeddings.LayerNorm", d, eps)?;
        let mut layers = Vec::with_capacity(c.num_hidden_layers);
        for l in 0..c.num_hidden_layers {
            let p = format!("encoder.layer.{l}");
            layers.push(Layer {
                query: r.linear(&format!("{p}.attention.self.query"), d, d)?,
                key: r.linear(&format!("{p}.attention.self.key"), d, d)?,
                value: r.linear(&format!("{p}.attention.self.value"), d, d)?,
                attn_out: r.linear(&format!("{p}.attention.output.dense"), d, d)?,
                attn_norm: r.layer_norm(&format!("{p}.attention.output.LayerNorm"), d, eps)?,
                intermediate: r.linear(
                    &format!("{p}.intermediate.dense"),
                    c.intermediate_size,
                    d,
                )?,
                output: r.linear(&format!("{p}.output.dense"), d, c.intermediate_size)?,
                out_norm: r.layer_norm(&format!("{p}.output.LayerNorm"), d, eps)?,
            });
        }
        Ok(Self {
            config,
            word_embeddings,
            position_embeddings,
            token_type_embeddings,
            embed_norm,
            layers,
            device: r.device,
        })
    }

    /// Hidden state after layer `layer` (0-based) for a batch of sequences, padded on
    /// the right with `pad_id` to the longest: returns `[B, T_max, d]`; rows past a
    /// sequence's length are padding (their values are unspecified).
    pub fn forward_padded(&self, ids: &[Vec<u32>], pad_id: u32, layer: usize) -> Result<Tensor> {
        ensure!(!ids.is_empty(), "bert forward: empty batch");
        let t = ids.iter().map(Vec::len).max().unwrap_or(0);
        let mut flat = Vec::with_capacity(ids.len() * t);
        let mut mask = Vec::with_capacity(ids.len() * t);
        for s in ids {
            flat.extend_from_slice(s);
            flat.extend(std::iter::repeat_n(pad_id, t - s.len()));
            mask.extend(std::iter::repeat_n(1u8, s.len()));
            mask.extend(std::iter::repeat_n(0u8, t - s.len()));
        }
        self.forward(&flat, &mask, ids.len(), layer)
    }

    /// Hidden state after layer `layer` (0-based): `ids` and `mask` are row-major
    /// `[batch, T]` (mask 1 = real token, 0 = padding); returns `[batch, T, d]`.
    pub fn forward(&self, ids: &[u32], mask: &[u8], batch: usize, layer: usize) -> Result<Tensor> {
        let c = &self.config;
        ensure!(batch > 0, "bert forward: empty batch");
        ensure!(
            ids.len() == mask.len() && ids.len().is_multiple_of(batch),
            "bert forward: {} ids and {} mask entries do not form [batch = {batch}, T]",
            ids.len(),
            mask.len()
        );
        let t = ids.len() / batch;
        ensure!(t > 0, "bert forward: empty sequence");
        ensure!(
            t <= c.max_position_embeddings,
            "bert forward: sequence of {t} tokens exceeds max_position_embeddings {}",
            c.max_position_embeddings
        );
        ensure!(
            layer < c.num_hidden_layers,
            "layer {layer}: the model has layers 0..{}",
            c.num_hidden_layers - 1
        );
        if let Some(&bad) = ids.iter().find(|&&i| i as usize >= c.vocab_size) {
            bail!(
                "bert forward: token id {bad} is outside the vocabulary of {}",
                c.vocab_size
            );
        }
        let d = c.hidden_size;
        let id_t = Tensor::from_vec(ids.to_vec(), ids.len(), &self.device)?;
        let word = self
            .word_embeddings
            .index_select(&id_t, 0)?
            .reshape((batch, t, d))?;
        let pos = self.position_embeddings.narrow(0, 0, t)?;
        let typ = self.token_type_embeddings.narrow(0, 0, 1)?;
        let emb = word.broadcast_add(&pos)?.broadcast_add(&typ)?;
        let mut x = self.embed_norm.forward(&emb)?;
        // Additive key mask [B, 1, 1, T].
        let key_mask: Vec<f32> = mask
            .iter()
            .map(|&m| if m == 0 { f32::NEG_INFINITY } else { 0.0 })
            .collect();
        let key_mask = Tensor::from_vec(key_mask, (batch, 1, 1, t), &self.device)?;
        for (l, lay) in self.layers.iter().enumerate().take(layer + 1) {
            x = self
                .layer(lay, &x, &key_mask)
                .with_context(|| format!("encoder.layer.{l}"))?;
        }
        Ok(x)
    }

    fn layer(&self, lay: &Layer, x: &Tensor, key_mask: &Tensor) -> Result<Tensor> {
        let (b, t, d) = x.dims3()?;
        let (h, hd) = (self.config.num_attention_heads, self.config.head_dim());
        let heads = |lin: &Linear| -> Result<Tensor> {
            Ok(lin
                .forward(x)?
                .reshape((b, t, h, hd))?
                .transpose(1, 2)?
                .contiguous()?)
        };
        let (q, k, v) = (heads(&lay.query)?, heads(&lay.key)?, heads(&lay.value)?);
        let scores = (q.matmul(&k.t()?)? / (hd as f64).sqrt())?.broadcast_add(key_mask)?;
        let probs = candle_nn::ops::softmax_last_dim(&scores)?;
        let ctx = probs.matmul(&v)?.transpose(1, 2)?.reshape((b, t, d))?;
        let x = lay.attn_norm.forward(&(x + lay.attn_out.forward(&ctx)?)?)?;
        let inner = lay.intermediate.forward(&x)?.gelu_erf()?;
        let out = lay.output.forward(&inner)?;
        lay.out_norm.forward(&(x + out)?)
    }
}

//! A small llama forward over GGUF weights (SmolLM2-135M), returning logits and the
//! residual stream after a chosen block.
//!
//! Per block `l` (pre-norm), on the residual `x` of shape `[B, T, d]`:
//! - `h = RMSNorm(x)·g_attn`, `RMSNorm(x) = x / sqrt(mean(x²) + ε)`;
//! - `q = h Wqᵀ` `[B, T, H, hd]`, `k = h Wkᵀ`, `v = h Wvᵀ` `[B, T, H_kv, hd]`;
//! - RoPE on `q, k` over adjacent pairs `(2i, 2i+1)` with angle `p·base^(−2i/hd)` at
//!   position `p` (GGUF's llama Q/K rows are stored permuted for this pairing);
//! - grouped-query attention: query head `h` reads kv head `h / (H / H_kv)`;
//!   `softmax(q kᵀ / sqrt(hd) + causal mask) v`; `x += concat_heads · Woᵀ`;
//! - `h = RMSNorm(x)·g_ffn`; `x += (silu(h Wgᵀ) ⊙ h Wuᵀ) Wdᵀ` (SwiGLU).
//!
//! Then `logits = RMSNorm(x)·g_out · Eᵀ` `[B, T, vocab]`, with `E = output.weight`, or
//! the token embedding when the file has no `output.weight` (tied, as in SmolLM2).
//! "Residual after block `l`" is `x` after block `l` (0-based) has added its MLP.
//! All weights are dequantized to f32 at load; matmuls run in candle (gemm).

use crate::gguf::GgufFile;
use anyhow::{Context, Result, ensure};
use candle_core::{D, DType, Device, Tensor};
use std::time::Instant;

/// Wall seconds of one or more forwards, by part (for `rdpbench lm bench-forward`).
/// Candle's CPU ops run synchronously, so each part is the time between its
/// neighbours' ends.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct ForwardTimings {
    /// Token-embedding lookup, RoPE tables and causal mask.
    pub embed: f64,
    /// Both RMSNorms of every block.
    pub norms: f64,
    /// `x Wqᵀ`, `x Wkᵀ`, `x Wvᵀ` (f32 GEMMs) and the head split.
    pub qkv_matmul: f64,
    /// RoPE on `q` and `k`.
    pub rope: f64,
    /// GQA expand, `q kᵀ`, mask, softmax, `probs v`, head merge.
    pub attention: f64,
    /// `attn Woᵀ`.
    pub attn_out_matmul: f64,
    /// `x Wgᵀ`, `x Wuᵀ`, `h Wdᵀ`.
    pub ffn_matmuls: f64,
    /// `silu(g) ⊙ u`.
    pub swiglu: f64,
    /// The two residual additions.
    pub residual_adds: f64,
    /// Output norm and head (only when logits are asked for).
    pub logits: f64,
}

impl ForwardTimings {
    /// Sum of all parts, seconds.
    pub fn total(&self) -> f64 {
        self.embed
            + self.norms
            + self.qkv_matmul
            + self.rope
            + self.attention
            + self.attn_out_matmul
            + self.ffn_matmuls
            + self.swiglu
            + self.residual_adds
            + self.logits
    }
}

/// Threads candle's CPU kernels use (`RAYON_NUM_THREADS`, else every core).
pub fn cpu_threads() -> usize {
    candle_core::utils::get_num_threads()
}

/// Adds the time since the previous lap to one part of [`ForwardTimings`]; a no-op
/// without timings.
struct Laps<'a> {
    timings: Option<&'a mut ForwardTimings>,
    last: Instant,
}

impl Laps<'_> {
    fn lap(&mut self, part: impl FnOnce(&mut ForwardTimings) -> &mut f64) {
        if let Some(t) = self.timings.as_deref_mut() {
            let now = Instant::now();
            *part(t) += (now - self.last).as_secs_f64();
            self.last = now;
        }
    }
}

/// Hyper-parameters read from `llama.*` metadata.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct LlamaConfig {
    pub n_layers: usize,
    pub d_model: usize,
    pub d_ff: usize,
    pub n_heads: usize,
    pub n_kv_heads: usize,
    pub head_dim: usize,
    pub vocab_size: usize,
    pub rope_base: f32,
    pub rms_eps: f32,
    pub context_length: usize,
}

impl LlamaConfig {
    /// Reads and checks `llama.*` metadata; errors name the key.
    pub fn from_gguf(gguf: &GgufFile) -> Result<Self> {
        let arch = gguf.get_str("general.architecture")?;
        ensure!(
            arch == "llama",
            "{}: general.architecture is '{arch}', expected 'llama'",
            gguf.source
        );
        let u = |k: &str| gguf.get_u64(&format!("llama.{k}")).map(|v| v as usize);
        let d_model = u("embedding_length")?;
        let n_heads = u("attention.head_count")?;
        let n_kv_heads = u("attention.head_count_kv").unwrap_or(n_heads);
        ensure!(
            n_heads > 0 && d_model.is_multiple_of(n_heads),
            "{}: llama.embedding_length {d_model} is not divisible by llama.attention.head_count {n_heads}",
            gguf.source
        );
        ensure!(
            n_kv_heads > 0 && n_heads.is_multiple_of(n_kv_heads),
            "{}: llama.attention.head_count {n_heads} is not a multiple of head_count_kv {n_kv_heads}",
            gguf.source
        );
        let head_dim = d_model / n_heads;
        if let Ok(rot) = u("rope.dimension_count") {
            ensure!(
                rot == head_dim,
                "{}: llama.rope.dimension_count {rot} != head dim {head_dim} (partial RoPE is not supported)",
                gguf.source
            );
        }
        ensure!(
            head_dim.is_multiple_of(2),
            "{}: head dim {head_dim} is odd",
            gguf.source
        );
        let token_embd = gguf.tensor("token_embd.weight")?;
        let shape = token_embd.shape_row_major();
        ensure!(
            shape.len() == 2 && shape[1] == d_model,
            "{}: token_embd.weight has shape {shape:?}, expected [vocab, {d_model}]",
            gguf.source
        );
        Ok(Self {
            n_layers: u("block_count")?,
            d_model,
            d_ff: u("feed_forward_length")?,
            n_heads,
            n_kv_heads,
            head_dim,
            vocab_size: shape[0],
            rope_base: gguf.get_f64("llama.rope.freq_base").unwrap_or(10_000.0) as f32,
            rms_eps: gguf.get_f64("llama.attention.layer_norm_rms_epsilon")? as f32,
            context_length: u("context_length").unwrap_or(2048),
        })
    }
}

#[derive(Debug)]
struct Block {
    attn_norm: Tensor,
    /// `[Wq; Wk; Wv]` stacked by rows, `[d + 2·kv, d]`: one GEMM for q, k and v.
    w_qkv: Tensor,
    wo: Tensor,
    ffn_norm: Tensor,
    /// `[Wg; Wu]` stacked by rows, `[2·d_ff, d]`: one GEMM for gate and up.
    w_gate_up: Tensor,
    w_down: Tensor,
}

/// The model: f32 weights on the CPU.
#[derive(Debug)]
pub struct Llama {
    pub config: LlamaConfig,
    token_embd: Tensor,
    blocks: Vec<Block>,
    output_norm: Tensor,
    /// `[vocab, d]`; the token embedding when tied.
    output: Tensor,
    device: Device,
}

/// What one forward pass returns.
#[derive(Debug)]
pub struct ForwardOutput {
    /// `[B, T, vocab]`, when the pass ran to the end.
    pub logits: Option<Tensor>,
    /// `[B, T, d]`: the residual stream after the requested block.
    pub residual: Option<Tensor>,
}

fn load(gguf: &GgufFile, name: &str, shape: &[usize], device: &Device) -> Result<Tensor> {
    Ok(gguf.dequantize_tensor(name, shape)?.to_device(device)?)
}

/// `x Wᵀ` for `x` `[.., in]` and `W` `[out, in]`.
fn linear(x: &Tensor, w: &Tensor) -> Result<Tensor> {
    let dims = x.dims().to_vec();
    let (rows, inner) = (
        dims[..dims.len() - 1].iter().product::<usize>(),
        dims[dims.len() - 1],
    );
    let y = x.reshape((rows, inner))?.matmul(&w.t()?)?;
    let mut out_dims = dims;
    *out_dims.last_mut().expect("non-empty") = w.dim(0)?;
    Ok(y.reshape(out_dims)?)
}

impl Llama {
    /// Loads every weight of a llama GGUF file (dequantized to f32), checking shapes.
    pub fn from_gguf(gguf: &GgufFile) -> Result<Self> {
        let config = LlamaConfig::from_gguf(gguf)?;
        let device = Device::Cpu;
        let c = &config;
        let (d, kv) = (c.d_model, c.n_kv_heads * c.head_dim);
        let token_embd = load(gguf, "token_embd.weight", &[c.vocab_size, d], &device)?;
        let mut blocks = Vec::with_capacity(c.n_layers);
        for l in 0..c.n_layers {
            let t = |n: &str, s: &[usize]| load(gguf, &format!("blk.{l}.{n}.weight"), s, &device);
            blocks.push(Block {
                attn_norm: t("attn_norm", &[d])?,
                w_qkv: Tensor::cat(
                    &[
                        t("attn_q", &[d, d])?,
                        t("attn_k", &[kv, d])?,
                        t("attn_v", &[kv, d])?,
                    ],
                    0,
                )?,
                wo: t("attn_output", &[d, d])?,
                ffn_norm: t("ffn_norm", &[d])?,
                w_gate_up: Tensor::cat(
                    &[t("ffn_gate", &[c.d_ff, d])?, t("ffn_up", &[c.d_ff, d])?],
                    0,
                )?,
                w_down: t("ffn_down", &[d, c.d_ff])?,
            });
        }
        let output_norm = load(gguf, "output_norm.weight", &[d], &device)?;
        let output = if gguf.tensor("output.weight").is_ok() {
            load(gguf, "output.weight", &[c.vocab_size, d], &device)?
        } else {
            token_embd.clone()
        };
        Ok(Self {
            config,
            token_embd,
            blocks,
            output_norm,
            output,
            device,
        })
    }

    /// Reads a GGUF file and loads the model.
    pub fn load(path: &std::path::Path) -> Result<Self> {
        Self::from_gguf(&GgufFile::read(path)?)
    }

    /// RoPE tables `cos, sin` of shape `[T, hd/2]` for positions `0..T`.
    fn rope_tables(&self, t: usize) -> Result<(Tensor, Tensor)> {
        let half = self.config.head_dim / 2;
        let hd = self.config.head_dim as f32;
        let mut cos = Vec::with_capacity(t * half);
        let mut sin = Vec::with_capacity(t * half);
        for p in 0..t {
            for i in 0..half {
                let theta = self.config.rope_base.powf(-2.0 * i as f32 / hd);
                let (s, c) = (p as f32 * theta).sin_cos();
                cos.push(c);
                sin.push(s);
            }
        }
        Ok((
            Tensor::from_vec(cos, (t, half), &self.device)?,
            Tensor::from_vec(sin, (t, half), &self.device)?,
        ))
    }

    /// Forward over a batch of equal-length token sequences `ids` `[B][T]`.
    ///
    /// With `residual_after = Some(l)` the residual after block `l` is returned; with
    /// `logits = false` the pass stops right after that block (no later blocks, no
    /// output head), which is what activation extraction needs.
    pub fn forward(
        &self,
        ids: &[Vec<u32>],
        residual_after: Option<usize>,
        logits: bool,
    ) -> Result<ForwardOutput> {
        self.forward_timed(ids, residual_after, logits, None)
    }

    /// [`Llama::forward`], adding each part's wall time to `timings` when given.
    pub fn forward_timed(
        &self,
        ids: &[Vec<u32>],
        residual_after: Option<usize>,
        logits: bool,
        timings: Option<&mut ForwardTimings>,
    ) -> Result<ForwardOutput> {
        let mut laps = Laps {
            timings,
            last: Instant::now(),
        };
        let c = &self.config;
        ensure!(!ids.is_empty(), "forward: empty batch");
        let t = ids[0].len();
        ensure!(t > 0, "forward: empty sequence");
        ensure!(
            ids.iter().all(|s| s.len() == t),
            "forward: sequences in a batch must have equal length"
        );
        ensure!(
            t <= c.context_length,
            "forward: sequence of {t} tokens exceeds the context length {}",
            c.context_length
        );
        if let Some(l) = residual_after {
            ensure!(
                l < c.n_layers,
                "residual_after = {l}, the model has {} blocks (0-based)",
                c.n_layers
            );
        }
        ensure!(
            logits || residual_after.is_some(),
            "forward: asked for neither logits nor a residual"
        );
        let b = ids.len();
        let flat: Vec<u32> = ids.iter().flatten().copied().collect();
        if let Some(&bad) = flat.iter().find(|&&i| i as usize >= c.vocab_size) {
            anyhow::bail!(
                "forward: token id {bad} is outside the vocabulary of {}",
                c.vocab_size
            );
        }
        let flat = Tensor::from_vec(flat, b * t, &self.device)?;
        let mut x = self
            .token_embd
            .index_select(&flat, 0)?
            .reshape((b, t, c.d_model))?;
        let (cos, sin) = self.rope_tables(t)?;
        let mask = causal_mask(t, &self.device)?.repeat((c.n_heads / c.n_kv_heads, 1))?;
        laps.lap(|t| &mut t.embed);
        let last_block = if logits {
            c.n_layers - 1
        } else {
            residual_after.expect("checked")
        };
        let mut residual = None;
        for (l, blk) in self.blocks.iter().enumerate().take(last_block + 1) {
            x = self
                .block(blk, &x, &cos, &sin, &mask, &mut laps)
                .with_context(|| format!("block {l}"))?;
            if residual_after == Some(l) {
                residual = Some(x.clone());
            }
        }
        let logits = if logits {
            let h = candle_nn::ops::rms_norm(&x, &self.output_norm, c.rms_eps)?;
            let logits = linear(&h, &self.output)?;
            laps.lap(|t| &mut t.logits);
            Some(logits)
        } else {
            None
        };
        Ok(ForwardOutput { logits, residual })
    }

    fn block(
        &self,
        blk: &Block,
        x: &Tensor,
        cos: &Tensor,
        sin: &Tensor,
        mask: &Tensor,
        laps: &mut Laps<'_>,
    ) -> Result<Tensor> {
        let c = &self.config;
        let (b, t, d) = x.dims3()?;
        let (h, hkv, hd) = (c.n_heads, c.n_kv_heads, c.head_dim);
        let xn = candle_nn::ops::rms_norm(x, &blk.attn_norm, c.rms_eps)?;
        laps.lap(|t| &mut t.norms);
        let kv = hkv * hd;
        let qkv = linear(&xn, &blk.w_qkv)?;
        // [B, T, n, hd] → [B, n, T, hd].
        let heads = |start: usize, n: usize| -> Result<Tensor> {
            Ok(qkv
                .narrow(2, start, n * hd)?
                .reshape((b, t, n, hd))?
                .transpose(1, 2)?
                .contiguous()?)
        };
        let (q, k, v) = (heads(0, h)?, heads(d, hkv)?, heads(d + kv, hkv)?);
        laps.lap(|t| &mut t.qkv_matmul);
        let q = candle_nn::rotary_emb::rope_i(&q, cos, sin)?;
        let k = candle_nn::rotary_emb::rope_i(&k, cos, sin)?;
        laps.lap(|t| &mut t.rope);
        // GQA without repeating k and v: query heads `kvh·group .. (kvh+1)·group` are
        // adjacent, so q [B, H, T, hd] is q [B, H_kv, group·T, hd] and each kv head's
        // group attends in one product; `mask` is the causal mask stacked `group` times.
        let group = h / hkv;
        let q = q.reshape((b, hkv, group * t, hd))?;
        let scores = (q.matmul(&k.t()?)? / (hd as f64).sqrt())?.broadcast_add(mask)?;
        let probs = candle_nn::ops::softmax_last_dim(&scores)?;
        let attn = probs
            .matmul(&v)?
            .reshape((b, h, t, hd))?
            .transpose(1, 2)?
            .reshape((b, t, d))?;
        laps.lap(|t| &mut t.attention);
        let o = linear(&attn, &blk.wo)?;
        laps.lap(|t| &mut t.attn_out_matmul);
        let x = (x + o)?;
        laps.lap(|t| &mut t.residual_adds);
        let xn = candle_nn::ops::rms_norm(&x, &blk.ffn_norm, c.rms_eps)?;
        laps.lap(|t| &mut t.norms);
        let gu = linear(&xn, &blk.w_gate_up)?;
        let (g, u) = (gu.narrow(2, 0, c.d_ff)?, gu.narrow(2, c.d_ff, c.d_ff)?);
        laps.lap(|t| &mut t.ffn_matmuls);
        let gu = (candle_nn::ops::silu(&g)? * u)?;
        laps.lap(|t| &mut t.swiglu);
        let mlp = linear(&gu, &blk.w_down)?;
        laps.lap(|t| &mut t.ffn_matmuls);
        let x = (x + mlp)?;
        laps.lap(|t| &mut t.residual_adds);
        Ok(x)
    }

    /// Greedy continuation: appends up to `max_new` argmax tokens (stops at EOS).
    pub fn generate_greedy(
        &self,
        prompt: &[u32],
        max_new: usize,
        eos: Option<u32>,
    ) -> Result<Vec<u32>> {
        let mut ids = prompt.to_vec();
        let mut new = Vec::with_capacity(max_new);
        for _ in 0..max_new {
            let out = self.forward(std::slice::from_ref(&ids), None, true)?;
            let logits = out.logits.expect("asked for logits");
            let last = logits.get(0)?.get(ids.len() - 1)?;
            let next = last.argmax(D::Minus1)?.to_scalar::<u32>()?;
            new.push(next);
            if Some(next) == eos {
                break;
            }
            ids.push(next);
        }
        Ok(new)
    }

    /// Mean next-token negative log-likelihood (nats) of `ids[1..]` given their prefixes,
    /// and the number of predicted tokens; perplexity is `exp(mean NLL)`. Sequences longer
    /// than `window` are scored in consecutive non-overlapping windows.
    pub fn mean_nll(&self, ids: &[u32], window: usize) -> Result<(f64, usize)> {
        ensure!(
            ids.len() >= 2,
            "perplexity needs at least 2 tokens, got {}",
            ids.len()
        );
        ensure!(window >= 2, "perplexity window must be at least 2");
        let (mut total, mut count) = (0f64, 0usize);
        for chunk in ids.chunks(window) {
            if chunk.len() < 2 {
                continue;
            }
            let out = self.forward(&[chunk.to_vec()], None, true)?;
            let logits = out.logits.expect("asked for logits").get(0)?;
            let logp = candle_nn::ops::log_softmax(&logits, D::Minus1)?;
            let targets =
                Tensor::from_vec(chunk[1..].to_vec(), (chunk.len() - 1, 1), &self.device)?;
            let picked = logp.narrow(0, 0, chunk.len() - 1)?.gather(&targets, 1)?;
            total -= picked.to_dtype(DType::F64)?.sum_all()?.to_scalar::<f64>()?;
            count += chunk.len() - 1;
        }
        Ok((total / count as f64, count))
    }
}

/// `[T, T]` additive causal mask: 0 on and below the diagonal, −∞ above.
fn causal_mask(t: usize, device: &Device) -> Result<Tensor> {
    let m: Vec<f32> = (0..t)
        .flat_map(|i| (0..t).map(move |j| if j <= i { 0.0 } else { f32::NEG_INFINITY }))
        .collect();
    Ok(Tensor::from_vec(m, (t, t), device)?)
}

/// One row of [`bench_matmul`]: `x` `[rows, k]` times `Wᵀ` for a weight `W` `[n, k]`,
/// median milliseconds of each way.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct MatmulTiming {
    pub weight: String,
    /// The weight's GGUF type, e.g. `Q4_1`.
    pub dtype: String,
    pub rows: usize,
    pub n: usize,
    pub k: usize,
    /// `x Wᵀ` with `W` dequantized to f32 (what [`Llama`] does).
    pub f32_ms: f64,
    /// `x (Wᵀ)` with `Wᵀ` stored contiguous `[k, n]`.
    pub f32_pretransposed_ms: f64,
    /// candle's `QMatMul::forward` on the quantized tensor.
    pub qmatmul_ms: f64,
    /// `max |f32 − QMatMul| / max |f32|`.
    pub max_rel_diff: f32,
}

impl MatmulTiming {
    /// `2·rows·n·k / time`, GFLOP/s, for a time in ms.
    pub fn gflops(&self, ms: f64) -> f64 {
        2.0 * (self.rows * self.n * self.k) as f64 / (ms * 1e-3) / 1e9
    }
}

/// Times candle's quantized matmul against the f32 GEMM on block 0's seven weights
/// (`x` random normal `[rows, k]`; one untimed call each, then the median of `repeats`).
pub fn bench_matmul(
    path: &std::path::Path,
    rows: usize,
    repeats: usize,
) -> Result<Vec<MatmulTiming>> {
    use candle_core::Module;
    use candle_core::quantized::{QMatMul, gguf_file};
    let dev = Device::Cpu;
    let ours = GgufFile::read(path)?;
    let mut file =
        std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let content = gguf_file::Content::read(&mut file).map_err(|e| e.with_path(path))?;
    let median = |f: &dyn Fn() -> Result<Tensor>| -> Result<f64> {
        f()?;
        let mut s = Vec::with_capacity(repeats);
        for _ in 0..repeats {
            let t0 = Instant::now();
            f()?;
            s.push(t0.elapsed().as_secs_f64() * 1e3);
        }
        s.sort_by(f64::total_cmp);
        Ok(s[s.len() / 2])
    };
    let mut out = Vec::new();
    for name in [
        "attn_q",
        "attn_k",
        "attn_v",
        "attn_output",
        "ffn_gate",
        "ffn_up",
        "ffn_down",
    ] {
        let full = format!("blk.0.{name}.weight");
        let qt = content.tensor(&mut file, &full, &dev)?;
        let (n, k) = qt.shape().dims2()?;
        let dtype = format!("{:?}", qt.dtype());
        let w = Tensor::from_vec(ours.dequantize_shaped(&full, &[n, k])?, (n, k), &dev)?;
        let wt = w.t()?.contiguous()?;
        let qmm = QMatMul::from_qtensor(qt)?;
        let x = Tensor::randn(0f32, 1.0, (rows, k), &dev)?;
        let f32_ms = median(&|| Ok(x.matmul(&w.t()?)?))?;
        let f32_pretransposed_ms = median(&|| Ok(x.matmul(&wt)?))?;
        let qmatmul_ms = median(&|| Ok(qmm.forward(&x)?))?;
        let (yf, yq) = (x.matmul(&w.t()?)?, qmm.forward(&x)?);
        let scale = yf.abs()?.max_all()?.to_scalar::<f32>()?;
        let diff = (yf - yq)?.abs()?.max_all()?.to_scalar::<f32>()?;
        out.push(MatmulTiming {
            weight: name.to_string(),
            dtype,
            rows,
            n,
            k,
            f32_ms,
            f32_pretransposed_ms,
            qmatmul_ms,
            max_rel_diff: diff / scale,
        });
    }
    Ok(out)
}

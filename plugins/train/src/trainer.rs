//! The shared training loop every architecture plugin runs.
//!
//! Per step: read a batch from the host's [`BatchSource`]; the architecture's
//! forward pass gives codes, `x̂` and its own loss terms; the SDK adds the
//! reconstruction term `E‖x − x̂‖²` (per-row squared error, mean over rows)
//! and, for architectures that expose pre-activations, the AuxK loss on dead
//! latents; AdamW steps with warm-up and linear decay; decoder rows are
//! renormalised to unit norm; firing counts update the dead-latent
//! bookkeeping. The first `eval_rows` rows streamed are held out and scored
//! with the inference encoder every `eval_every` steps and at the end
//! (explained variance, per-element MSE, L0: see [`super::distortion`]).

use super::TrainConfig;
use super::adamw::{AdamW, AdamWParams};
use super::arch::{
    Architecture, Buffers, Dims, Forward, Init, Params, StepContext, decode, device,
};
use super::distortion::Distortion;
use super::resume::{self, LogSums, ResumeState};
use super::rng::SplitMix64;
use super::sparse_step::{AuxK, SparseStep};
use super::{fused, ops};
use anyhow::{Context as _, Result, bail};
use candle_core::{DType, Device, Tensor, Var};
use rdpbench_api::data::{CsrMatrix, MatrixView};
use rdpbench_api::sae::{BatchSource, NamedTensor, SaeWeights, TrainRequest};
use std::collections::HashMap;

/// Stream tag of the parameter initialisation.
const TAG_INIT: u64 = 0x494e_4954; // "INIT"

/// Rows encoded per chunk at inference.
const ENCODE_CHUNK: usize = 8192;

/// Reads up to `rows` rows, calling the source until it is full or exhausted.
fn fill(data: &mut dyn BatchSource, buf: &mut [f32], rows: usize) -> Result<usize> {
    let d = data.d_in();
    let mut got = 0;
    while got < rows {
        let n = data.next_batch(&mut buf[got * d..rows * d], rows - got)?;
        if n == 0 {
            break;
        }
        got += n;
    }
    Ok(got)
}

/// Creates the parameters (deterministic in `config.seed`).
fn init_params(
    arch: &dyn Architecture,
    dims: Dims,
    config: &TrainConfig,
    dev: &Device,
) -> Result<Vec<(String, Var)>> {
    let specs = arch.params(dims, config);
    let mut host: HashMap<&str, (Vec<usize>, Vec<f32>)> = HashMap::new();
    for (i, s) in specs.iter().enumerate() {
        let n: usize = s.shape.iter().product();
        let data = match s.init {
            Init::Zeros => vec![0.0; n],
            Init::Const(v) => vec![v as f32; n],
            Init::UnitRows => {
                let cols = *s.shape.last().context("UnitRows needs a 2-d shape")?;
                let mut rng = SplitMix64::new(config.seed, TAG_INIT + i as u64);
                let mut v: Vec<f32> = Vec::with_capacity(n);
                for _ in 0..n / cols.max(1) {
                    let row: Vec<f64> = (0..cols).map(|_| rng.normal()).collect();
                    let norm = row.iter().map(|x| x * x).sum::<f64>().sqrt().max(1e-12);
                    v.extend(row.iter().map(|x| (x / norm) as f32));
                }
                v
            }
            Init::TransposeOf(name) => {
                let (shape, src) = host.get(name).with_context(|| {
                    format!(
                        "parameter `{}` is initialised from `{name}`, which must come first",
                        s.name
                    )
                })?;
                let (r, c) = (shape[0], shape[1]);
                let mut t = vec![0.0f32; r * c];
                for i in 0..r {
                    for j in 0..c {
                        t[j * r + i] = src[i * c + j];
                    }
                }
                t
            }
        };
        host.insert(s.name, (s.shape.clone(), data));
    }
    specs
        .iter()
        .map(|s| {
            let (shape, data) = host.remove(s.name).expect("initialised above");
            let t = Tensor::from_vec(data, shape, dev)?;
            Ok((s.name.to_string(), Var::from_tensor(&t)?))
        })
        .collect()
}

/// The SAELens v6 `cfg.json` of an SAE trained with `config`.
pub fn saelens_cfg(arch: &dyn Architecture, config: &TrainConfig, dims: Dims) -> serde_json::Value {
    let spec = arch.spec();
    let mut cfg = serde_json::json!({
        "architecture": spec.saelens_architecture,
        "d_in": dims.d_in,
        "d_sae": dims.d_sae,
        "dtype": "float32",
        "device": "cpu",
        "apply_b_dec_to_input": true,
        "normalize_activations": "none",
        "reshape_activations": "none",
        "metadata": {
            "model_name": serde_json::Value::Null,
            "hook_name": serde_json::Value::Null,
            "sae_lens_training_version": serde_json::Value::Null,
            "rdpbench_version": rdpbench_api::SDK_VERSION,
            "rdpbench_architecture": spec.id,
            "rdpbench_architecture_version": spec.version,
            "rdpbench_train_config": config,
        },
    });
    let obj = cfg.as_object_mut().expect("object");
    for (k, v) in arch.cfg_fields(config) {
        obj.insert(k, v);
    }
    cfg
}

fn tensor_to_named(name: &str, t: &Tensor) -> Result<NamedTensor> {
    Ok(NamedTensor {
        name: name.to_string(),
        shape: t.dims().to_vec(),
        data: t.flatten_all()?.to_dtype(DType::F32)?.to_vec1::<f32>()?,
    })
}

/// SAELens-named tensors of a [`SaeWeights`] on `dev`.
pub fn weights_to_params(w: &SaeWeights, dev: &Device) -> Result<Params> {
    let mut p = Params::default();
    for t in &w.tensors {
        let n: usize = t.shape.iter().product();
        if n != t.data.len() {
            bail!(
                "tensor `{}` has shape {:?} but {} values",
                t.name,
                t.shape,
                t.data.len()
            );
        }
        p.insert(
            t.name.clone(),
            Tensor::from_slice(&t.data, t.shape.as_slice(), dev)?,
        );
    }
    Ok(p)
}

/// Dense codes of `x` in chunks, then the reconstruction `f W_dec + b_dec`;
/// feeds both into `acc` when given. Returns the codes as CSR.
fn encode_rows(
    arch: &dyn Architecture,
    w: &Params,
    cfg: &serde_json::Value,
    x: MatrixView<'_>,
    dev: &Device,
    mut acc: Option<&mut Distortion>,
) -> Result<CsrMatrix> {
    let d_sae = w.get("W_dec")?.dims2()?.0;
    let mut out = CsrMatrix::with_cols(d_sae);
    for start in (0..x.rows).step_by(ENCODE_CHUNK) {
        let rows = ENCODE_CHUNK.min(x.rows - start);
        let chunk = &x.data[start * x.cols..(start + rows) * x.cols];
        let xt = Tensor::from_slice(chunk, (rows, x.cols), dev)?;
        if acc.is_none()
            && let Some(csr) = arch.encode_csr(w, &xt, cfg)?
        {
            if csr.n_rows != rows || csr.n_cols != d_sae {
                bail!(
                    "encode_csr returned codes [{}, {}] for [{rows}, {}] inputs and d_sae = {d_sae}",
                    csr.n_rows,
                    csr.n_cols,
                    x.cols
                );
            }
            for r in 0..rows {
                let (a, b) = (csr.indptr[r] as usize, csr.indptr[r + 1] as usize);
                out.push_row((a..b).map(|i| (csr.indices[i], csr.values[i])));
            }
            continue;
        }
        let codes = arch.encode(w, &xt, cfg)?;
        let (r, c) = codes.dims2()?;
        if r != rows || c != d_sae {
            bail!(
                "encode returned codes [{r}, {c}] for [{rows}, {}] inputs and d_sae = {d_sae}",
                x.cols
            );
        }
        if let Some(acc) = acc.as_deref_mut() {
            let x_hat = decode(&codes, w.get("W_dec")?, w.get("b_dec")?)?;
            acc.add(chunk, &x_hat.flatten_all()?.to_vec1::<f32>()?);
        }
        let dense = codes.flatten_all()?.to_vec1::<f32>()?;
        let mut nnz = 0u64;
        for row in dense.chunks_exact(d_sae) {
            out.push_row(
                row.iter()
                    .enumerate()
                    .filter(|(_, v)| **v != 0.0)
                    .map(|(j, &v)| {
                        nnz += 1;
                        (j as u32, v)
                    }),
            );
        }
        if let Some(acc) = acc.as_deref_mut() {
            acc.add_nonzeros(nnz);
        }
    }
    Ok(out)
}

/// Codes of `x` under the SAE `w` (the plugin's `encode` entry point).
pub fn encode(arch: &dyn Architecture, w: &SaeWeights, x: MatrixView<'_>) -> Result<CsrMatrix> {
    let cfg: serde_json::Value =
        serde_json::from_str(&w.cfg_json).context("cfg.json is not valid JSON")?;
    let dev = match cfg.get("device").and_then(|d| d.as_str()) {
        Some(d) if d.starts_with("cuda") && cfg!(feature = "cuda") => device(d)?,
        _ => Device::Cpu,
    };
    let p = weights_to_params(w, &dev)?;
    let (w_rows, w_cols) = p.get("W_dec")?.dims2()?;
    if w_cols != x.cols {
        bail!("x has d_in = {} but W_dec is [{w_rows}, {w_cols}]", x.cols);
    }
    encode_rows(arch, &p, &cfg, x, &dev, None)
}

/// Reconstruction statistics (EV, MSE, L0) of the SAE `w` on `x`.
pub fn evaluate(arch: &dyn Architecture, w: &SaeWeights, x: MatrixView<'_>) -> Result<Distortion> {
    let cfg: serde_json::Value =
        serde_json::from_str(&w.cfg_json).context("cfg.json is not valid JSON")?;
    let p = weights_to_params(w, &Device::Cpu)?;
    let mut acc = Distortion::new(x.cols);
    encode_rows(arch, &p, &cfg, x, &Device::Cpu, Some(&mut acc))?;
    Ok(acc)
}

/// Exports the current state as SAELens tensors.
fn export(
    arch: &dyn Architecture,
    p: &Params,
    buffers: &Buffers,
    config: &TrainConfig,
    dims: Dims,
    cfg: &serde_json::Value,
) -> Result<SaeWeights> {
    let tensors = arch
        .export(p, buffers, config, dims)?
        .iter()
        .map(|(n, t)| tensor_to_named(n, t))
        .collect::<Result<Vec<_>>>()?;
    Ok(SaeWeights {
        cfg_json: serde_json::to_string_pretty(cfg)?,
        tensors,
    })
}

/// Writes a SAELens folder (`cfg.json` + `sae_weights.safetensors`) with candle.
fn write_checkpoint(dir: &std::path::Path, w: &SaeWeights, dev: &Device) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let p = weights_to_params(w, dev)?;
    let map: HashMap<String, Tensor> = p
        .names()
        .map(|n| (n.clone(), p.get(n).expect("listed").clone()))
        .collect();
    candle_core::safetensors::save(&map, dir.join("sae_weights.safetensors"))?;
    std::fs::write(dir.join("cfg.json"), &w.cfg_json)?;
    Ok(())
}

/// Held-out report as a JSON object.
fn heldout_json(
    arch: &dyn Architecture,
    w: &SaeWeights,
    eval: &[f32],
    d_in: usize,
) -> Result<serde_json::Map<String, serde_json::Value>> {
    let mut m = serde_json::Map::new();
    if eval.is_empty() {
        return Ok(m);
    }
    let acc = evaluate(arch, w, MatrixView::new(eval.len() / d_in, d_in, eval)?)?;
    m.insert("heldout_rows".into(), acc.rows().into());
    m.insert("heldout_ev".into(), acc.explained_variance().into());
    m.insert("heldout_mse".into(), acc.mse().into());
    m.insert("heldout_l0".into(), acc.l0().into());
    Ok(m)
}

/// Statistics of one optimiser step.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepStats {
    /// Total loss.
    pub loss: f64,
    /// Reconstruction term `E‖x − x̂‖²`.
    pub sse_per_row: f64,
    /// Mean active latents per row.
    pub l0: f64,
}

/// One SAE being trained: parameters, optimiser, buffers and dead-latent
/// counters. [`train`] drives it; benches call [`Session::step`] directly.
pub struct Session<'a> {
    arch: &'a dyn Architecture,
    config: TrainConfig,
    dims: Dims,
    dev: Device,
    params: Params,
    /// The trainable parameters by name, in the optimiser's order.
    vars: Vec<(String, Var)>,
    w_dec: Var,
    opt: AdamW,
    buffers: Buffers,
    since_fired: Vec<u64>,
    aux_k: usize,
    step: u64,
    /// The hand-written step, when the architecture declares a
    /// [`Architecture::sparse_training`] and the parameters live on the CPU.
    sparse: Option<SparseStep>,
}

impl std::fmt::Debug for Session<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("dims", &self.dims)
            .field("step", &self.step)
            .finish_non_exhaustive()
    }
}

impl<'a> Session<'a> {
    /// Initialises an SAE for rows of dimension `d_in` (deterministic in `config.seed`).
    pub fn new(arch: &'a dyn Architecture, config: TrainConfig, d_in: usize) -> Result<Self> {
        rdpbench_abi::tune_allocator();
        config.validate(d_in)?;
        let dims = Dims {
            d_in,
            d_sae: config.d_sae,
        };
        let dev = device(&config.device)?;
        let vars = init_params(arch, dims, &config, &dev)?;
        let params = Params::new(
            vars.iter()
                .map(|(n, v)| (n.clone(), v.as_tensor().clone()))
                .collect(),
        );
        let w_dec = vars
            .iter()
            .find(|(n, _)| n == "W_dec")
            .map(|(_, v)| v.clone())
            .context("architecture has no `W_dec` parameter")?;
        let opt = AdamW::new(
            vars.iter().map(|(_, v)| v.clone()).collect(),
            AdamWParams {
                lr: config.lr,
                beta1: config.adam_beta1,
                beta2: config.adam_beta2,
                eps: config.adam_eps,
                weight_decay: config.weight_decay,
            },
        )?;
        let buffers = arch.init_buffers(dims, &config);
        let aux_k = if config.aux_k == 0 {
            (d_in / 2).max(1)
        } else {
            config.aux_k
        };
        let standard = {
            let mut names: Vec<&str> = vars.iter().map(|(n, _)| n.as_str()).collect();
            names.sort_unstable();
            names == ["W_dec", "W_enc", "b_dec", "b_enc"]
        };
        let sparse = arch
            .sparse_training(&config)
            .filter(|_| matches!(dev, Device::Cpu) && standard)
            .map(SparseStep::new);
        Ok(Self {
            arch,
            sparse,
            since_fired: vec![0; dims.d_sae],
            config,
            dims,
            dev,
            params,
            vars,
            w_dec,
            opt,
            buffers,
            aux_k,
            step: 0,
        })
    }

    /// The device parameters live on.
    pub fn device(&self) -> &Device {
        &self.dev
    }

    /// Latents that have not fired on the last `dead_after_rows` rows.
    pub fn dead_count(&self) -> usize {
        self.since_fired
            .iter()
            .filter(|&&s| s >= self.config.dead_after_rows)
            .count()
    }

    /// Whether steps run the hand-written [`SparseStep`] (see
    /// [`Architecture::sparse_training`]) rather than the architecture's
    /// `forward` and autograd.
    pub fn uses_sparse_step(&self) -> bool {
        self.sparse.is_some()
    }

    /// Makes every later step run the architecture's `forward` and
    /// autograd (the reference the hand-written step is tested against).
    pub fn use_reference_step(&mut self) {
        self.sparse = None;
    }

    /// One optimiser step on `x: [rows, d_in]`.
    pub fn step(&mut self, x: &Tensor) -> Result<StepStats> {
        if self.sparse.is_some() {
            return self.sparse_step(x);
        }
        let (n, _) = x.dims2()?;
        let config = &self.config;
        let mut ctx = StepContext {
            config,
            dims: self.dims,
            step: self.step,
            buffers: &mut self.buffers,
        };
        let Forward {
            codes,
            x_hat,
            losses,
            aux_pre_acts,
        } = self.arch.forward(&self.params, x, &mut ctx)?;
        let recon = ops::sse_per_row(x, &x_hat)?;
        let mut loss = recon.clone();
        for (_, term) in &losses {
            loss = (loss + term)?;
        }
        // AuxK (Gao et al. 2024) on latents dead before this step.
        let n_dead = self.dead_count();
        if let (Some(pre), true) = (aux_pre_acts, config.aux_k_coefficient > 0.0 && n_dead > 0) {
            let dead: Vec<f32> = self
                .since_fired
                .iter()
                .map(|&s| (s >= config.dead_after_rows) as u8 as f32)
                .collect();
            let k_aux = self.aux_k.min(n_dead);
            let dead_t = Tensor::from_vec(dead, self.dims.d_sae, &self.dev)?;
            let masked = pre.broadcast_mul(&dead_t)?;
            let aux_codes = (&masked * ops::topk_mask(&masked, k_aux)?)?;
            // Zeros of aux_codes are masked or ReLU zeros: the sparse decode is exact.
            let e_hat = super::sparse_decode::sparse_decode(&aux_codes, self.params.get("W_dec")?)?;
            let residual = (x - &x_hat)?.detach();
            let scale = (n_dead as f64 / self.aux_k as f64).min(1.0) * config.aux_k_coefficient;
            loss = (loss + (ops::sse_per_row(&residual, &e_hat)? * scale)?)?;
        }
        self.opt.set_learning_rate(config.lr_at(self.step));
        self.opt.backward_step(&loss)?;
        if config.normalize_decoder {
            self.w_dec.set(&ops::unit_rows(self.w_dec.as_tensor())?)?;
        }
        let fired = fused::fired_counts(&codes)?;
        let mut nnz = 0u64;
        for (s, &f) in self.since_fired.iter_mut().zip(&fired) {
            nnz += f;
            *s = if f > 0 { 0 } else { *s + n as u64 };
        }
        self.step += 1;
        Ok(StepStats {
            loss: loss.to_scalar::<f32>()? as f64,
            sse_per_row: recon.to_scalar::<f32>()? as f64,
            l0: nnz as f64 / n as f64,
        })
    }

    /// [`Session::step`] through the hand-written [`SparseStep`]: the same
    /// losses, AuxK, schedule, decoder renormalisation and dead-latent
    /// bookkeeping.
    fn sparse_step(&mut self, x: &Tensor) -> Result<StepStats> {
        let (n, _) = x.dims2()?;
        let x = x.to_dtype(DType::F32)?.contiguous()?;
        let config = &self.config;
        let n_dead = self.dead_count();
        let dead: Vec<bool> = self
            .since_fired
            .iter()
            .map(|&s| s >= config.dead_after_rows)
            .collect();
        let aux = (config.aux_k_coefficient > 0.0 && n_dead > 0).then(|| AuxK {
            dead: &dead,
            k: self.aux_k.min(n_dead),
            scale: ((n_dead as f64 / self.aux_k as f64).min(1.0) * config.aux_k_coefficient) as f32,
        });
        self.opt.set_learning_rate(config.lr_at(self.step));
        let sparse = self.sparse.as_mut().context("no sparse step")?;
        let stats = sparse.step(
            &x,
            &self.vars,
            &mut self.opt,
            aux,
            config.normalize_decoder,
            &mut self.buffers,
        )?;
        let mut fired = vec![false; self.dims.d_sae];
        for j in sparse.fired_latents() {
            fired[j as usize] = true;
        }
        for (s, &f) in self.since_fired.iter_mut().zip(&fired) {
            *s = if f { 0 } else { *s + n as u64 };
        }
        let nnz = sparse.nnz();
        self.step += 1;
        Ok(StepStats {
            loss: stats.loss,
            sse_per_row: stats.sse_per_row,
            l0: nnz as f64 / n as f64,
        })
    }

    /// Optimiser steps taken.
    pub fn step_count(&self) -> u64 {
        self.step
    }

    /// Everything [`Session::restore`] needs to continue exactly where this
    /// session is: the state record (with `rows_read` and `log` from the
    /// caller) and the tensors `param/<name>`, `adam_m/<name>`, `adam_v/<name>`.
    pub fn snapshot(
        &self,
        rows_read: u64,
        log: LogSums,
    ) -> Result<(ResumeState, HashMap<String, Tensor>)> {
        let mut tensors = HashMap::new();
        let moments = self.opt.moments()?;
        for ((name, var), mo) in self.vars.iter().zip(moments) {
            let shape = var.shape().clone();
            tensors.insert(
                format!("{}{name}", resume::PARAM),
                var.as_tensor().to_device(&Device::Cpu)?,
            );
            tensors.insert(
                format!("{}{name}", resume::ADAM_M),
                Tensor::from_slice(&mo.m, &shape, &Device::Cpu)?,
            );
            tensors.insert(
                format!("{}{name}", resume::ADAM_V),
                Tensor::from_slice(&mo.v, &shape, &Device::Cpu)?,
            );
        }
        let state = ResumeState {
            format: resume::FORMAT,
            config: self.config.clone(),
            d_in: self.dims.d_in,
            step: self.step,
            rows_read,
            adam_step: self.opt.step_count(),
            buffers: self.buffers.clone(),
            since_fired: self.since_fired.clone(),
            log,
            params: self.vars.iter().map(|(n, _)| n.clone()).collect(),
        };
        Ok((state, tensors))
    }

    /// Restores a [`Session::snapshot`] taken from a session of the same
    /// architecture, configuration (see [`resume::same_run`]) and `d_in`.
    pub fn restore(
        &mut self,
        state: &ResumeState,
        tensors: &HashMap<String, Tensor>,
    ) -> Result<()> {
        if state.d_in != self.dims.d_in || !resume::same_run(&state.config, &self.config) {
            bail!(
                "the checkpoint was written by a run with another configuration or data (d_in {} vs {}); delete it or use another checkpoint_dir",
                state.d_in,
                self.dims.d_in
            );
        }
        let names: Vec<&String> = self.vars.iter().map(|(n, _)| n).collect();
        if state.params.iter().collect::<Vec<_>>() != names {
            bail!(
                "the checkpoint holds parameters {:?}, this architecture has {names:?}",
                state.params
            );
        }
        if state.since_fired.len() != self.dims.d_sae {
            bail!(
                "the checkpoint tracks {} latents, the SAE has d_sae = {}",
                state.since_fired.len(),
                self.dims.d_sae
            );
        }
        let get = |prefix: &str, name: &str, shape: &[usize]| -> Result<Tensor> {
            let key = format!("{prefix}{name}");
            let t = tensors
                .get(&key)
                .with_context(|| format!("the checkpoint has no tensor `{key}`"))?;
            if t.dims() != shape {
                bail!(
                    "checkpoint tensor `{key}` has shape {:?}, expected {shape:?}",
                    t.dims()
                );
            }
            Ok(t.to_dtype(DType::F32)?)
        };
        let mut moments = Vec::new();
        for (name, var) in &self.vars {
            let shape = var.dims().to_vec();
            var.set(&get(resume::PARAM, name, &shape)?.to_device(&self.dev)?)?;
            moments.push(super::adamw::Moments {
                m: get(resume::ADAM_M, name, &shape)?
                    .flatten_all()?
                    .to_vec1()?,
                v: get(resume::ADAM_V, name, &shape)?
                    .flatten_all()?
                    .to_vec1()?,
            });
        }
        self.opt.restore(state.adam_step, moments)?;
        self.buffers = state.buffers.clone();
        self.since_fired = state.since_fired.clone();
        self.step = state.step;
        Ok(())
    }

    /// The current SAE as SAELens tensors and `cfg.json`.
    pub fn export(&self) -> Result<SaeWeights> {
        let cfg = saelens_cfg(self.arch, &self.config, self.dims);
        export(
            self.arch,
            &self.params,
            &self.buffers,
            &self.config,
            self.dims,
            &cfg,
        )
    }
}

/// Reads and drops `rows` rows (a resumed run skips the rows it trained on:
/// the source is a plain stream, so its position is the count of rows read).
fn skip(data: &mut dyn BatchSource, buf: &mut [f32], rows: u64) -> Result<()> {
    let d = data.d_in();
    let per_call = buf.len() / d.max(1);
    let mut left = rows;
    while left > 0 {
        let want = per_call.min(usize::try_from(left).unwrap_or(usize::MAX));
        let got = fill(data, buf, want)?;
        if got == 0 {
            bail!(
                "the data source ended after {} of the {rows} rows the checkpoint had trained on",
                rows - left
            );
        }
        left -= got as u64;
    }
    Ok(())
}

/// Trains one SAE of architecture `arch` (the plugin's `train` entry point).
///
/// With `checkpoint_every = c > 0`, every `c` steps (except the last) it
/// writes a SAELens snapshot `<checkpoint_dir>/step_<n>/` and replaces the
/// resume state `<checkpoint_dir>/resume/` (see [`super::resume`]). A run
/// that finds a resume state there continues from it: parameters, AdamW
/// moments and step, architecture buffers, dead-latent counters and the data
/// stream position (the held-out rows are read again, then the rows already
/// trained on are skipped), so an interrupted run ends bit-identical to an
/// uninterrupted one.
pub fn train(arch: &dyn Architecture, request: TrainRequest<'_>) -> Result<SaeWeights> {
    let TrainRequest {
        config,
        data,
        observer,
    } = request;
    let config = TrainConfig::from_json_for(config, &arch.spec())?;
    let d_in = data.d_in();
    let mut session = Session::new(arch, config.clone(), d_in)?;
    let dev = session.device().clone();

    let mut eval = vec![0.0f32; config.eval_rows * d_in];
    let n_eval = fill(data, &mut eval, config.eval_rows)?;
    eval.truncate(n_eval * d_in);

    let mut batch = vec![0.0f32; config.batch_size * d_in];
    let checkpoint_dir = config.checkpoint_dir.as_deref().map(std::path::Path::new);
    let resume_dir = checkpoint_dir.map(|d| d.join(resume::DIR));
    let mut log = LogSums::default();
    let mut rows_read = 0u64;
    if let Some(dir) = &resume_dir
        && let Some((state, tensors)) = resume::read(dir)?
    {
        session
            .restore(&state, &tensors)
            .with_context(|| format!("cannot resume from {}", dir.display()))?;
        skip(data, &mut batch, state.rows_read)?;
        rows_read = state.rows_read;
        log = state.log;
    }
    let first_step = session.step_count();
    let mut steps_done = first_step;
    for step in first_step..config.steps {
        let n = fill(data, &mut batch, config.batch_size)?;
        if n == 0 {
            observer.on_progress(
                step,
                config.steps,
                r#"{"warning":"the data source ended before the last step"}"#,
            );
            break;
        }
        rows_read += n as u64;
        let x = Tensor::from_slice(&batch[..n * d_in], (n, d_in), &dev)?;
        let stats = session.step(&x)?;
        steps_done = step + 1;
        log.loss += stats.loss;
        log.recon += stats.sse_per_row;
        log.l0 += stats.l0;
        log.logged += 1;
        let last = steps_done == config.steps;
        let log_now = config.log_every > 0 && steps_done.is_multiple_of(config.log_every);
        let eval_now =
            last || (config.eval_every > 0 && steps_done.is_multiple_of(config.eval_every));
        if log_now || eval_now {
            let mut m = serde_json::Map::new();
            let logged = log.logged as f64;
            m.insert("loss".into(), (log.loss / logged).into());
            m.insert("sse_per_row".into(), (log.recon / logged).into());
            m.insert("l0".into(), (log.l0 / logged).into());
            m.insert("lr".into(), config.lr_at(step).into());
            m.insert(
                "dead_fraction".into(),
                (session.dead_count() as f64 / config.d_sae as f64).into(),
            );
            for (name, v) in &session.buffers {
                m.insert(name.clone(), (*v).into());
            }
            if eval_now {
                m.extend(heldout_json(arch, &session.export()?, &eval, d_in)?);
            }
            log = LogSums::default();
            observer.on_progress(
                steps_done,
                config.steps,
                &serde_json::Value::Object(m).to_string(),
            );
        }
        if let (Some(dir), Some(resume_dir)) = (checkpoint_dir, &resume_dir)
            && config.checkpoint_every > 0
            && steps_done.is_multiple_of(config.checkpoint_every)
            && !last
        {
            write_checkpoint(
                &dir.join(format!("step_{steps_done}")),
                &session.export()?,
                &dev,
            )?;
            let (state, tensors) = session.snapshot(rows_read, log)?;
            resume::write(resume_dir, &state, &tensors)?;
        }
    }
    if steps_done == 0 {
        bail!("the data source gave no training rows after the {n_eval} held-out rows");
    }
    let w = session.export()?;
    let held = heldout_json(arch, &w, &eval, d_in)?;
    let mut cfg: serde_json::Value = serde_json::from_str(&w.cfg_json)?;
    let meta = cfg["metadata"].as_object_mut().expect("metadata object");
    meta.insert("rdpbench_steps_done".into(), steps_done.into());
    meta.insert("rdpbench_heldout".into(), serde_json::Value::Object(held));
    Ok(SaeWeights {
        cfg_json: serde_json::to_string_pretty(&cfg)?,
        tensors: w.tensors,
    })
}

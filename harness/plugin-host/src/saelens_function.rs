//! The function a SAELens v6 folder computes, around its plugin's encoder:
//! input processing, decoding and output processing exactly as SAELens 6.x
//! (`SAE.process_sae_in`, `run_time_activation_norm_fn_in/out`, the
//! architectures' `decode`, and the `ActivationScaler` its evals apply).
//!
//! With `x [n, d_in]` one row at a time:
//! 1. the activation scaler (SAELens's trainer saves it as
//!    `activation_scaler.json` beside a checkpoint; needed, and only read,
//!    for `normalize_activations` `expected_average_only_in` or
//!    `covariance_whitening`; for rdpbench's own real-data SAEs, the
//!    `activation_scale` of their job record in `metadata`): `x ← x · s`
//!    when it has a `scaling_factor`,
//!    then `x ← (x − μ) M` when it has a whitening
//!    (`activation_whitening.safetensors`: `mean`, `matrix`,
//!    `inverse_matrix`);
//! 2. the run-time normalisation `normalize_activations`:
//!    `constant_norm_rescale`: `c = √d_in / ‖x‖`, `x ← c x`;
//!    `layer_norm`: `μ = mean(x)`, `σ = std(x)` (unbiased, `d_in − 1`),
//!    `x ← (x − μ) / (σ + 1e-5)`; `none`, `expected_average_only_in` and
//!    `covariance_whitening`: nothing (step 1 did it);
//! 3. the plugin encodes `x − b_dec` when `apply_b_dec_to_input` (default
//!    `true`), else `x` (it is handed `b_dec = 0`: in every SAELens
//!    architecture `b_dec` enters the encoder only there);
//! 4. decoding `x̂ = Σ_j f_j W_dec,j + b_dec`, with the plugin's declared
//!    rules ([`rdpbench_sdk::SaelensDecode`]): `f_j / ‖W_dec,j‖` instead of
//!    `f_j` when its rescale field is true, `b_dec` only when its field is;
//! 5. steps 2 and 1 undone on `x̂` (`x̂ / c`; `x̂ σ + μ`; `x̂ M⁻¹ + μ`, `x̂ / s`).
//!
//! Refused, with an error naming the field or file: an unknown
//! `normalize_activations`, a scaler-based one without its
//! `activation_scaler.json`, `dtype` other than `float32`/`float64`
//! (rdpbench computes in `f32`), an unknown `reshape_activations`.

use crate::saelens::SaeFolder;
use anyhow::{Context, Result, bail, ensure};
use rdpbench_sdk::sae::SaelensInterop;
use rdpbench_sdk::{CsrMatrix, MatrixView, SaeArchitecture, SaeWeights};
use std::collections::BTreeMap;
use std::path::Path;

/// SAELens's activation-scaler file beside a checkpoint.
pub const SCALER_FILE: &str = "activation_scaler.json";
/// SAELens's whitening tensors beside [`SCALER_FILE`].
pub const WHITENING_FILE: &str = "activation_whitening.safetensors";

/// `normalize_activations`' run-time part.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuntimeNorm {
    None,
    ConstantNormRescale,
    LayerNorm,
}

/// SAELens's `ActivationScaler` (step 1 of the module docs).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Scaler {
    pub scaling_factor: Option<f32>,
    pub whitening: Option<Whitening>,
}

/// An affine whitening `z = (x − mean) matrix`, `x = z inverse + mean`.
#[derive(Debug, Clone, PartialEq)]
pub struct Whitening {
    pub mean: Vec<f32>,
    /// `[d_in, d_in]` row-major.
    pub matrix: Vec<f32>,
    pub inverse: Vec<f32>,
}

/// How one row was normalised, to undo it on the reconstruction.
#[derive(Debug, Clone, Copy)]
enum RowNorm {
    Identity,
    Scale(f32),
    Affine { mu: f32, std: f32 },
}

/// A loaded folder's whole function (see the module docs).
#[derive(Debug, Clone)]
pub struct SaelensFunction {
    pub d_in: usize,
    pub d_sae: usize,
    pub scaler: Option<Scaler>,
    pub norm: RuntimeNorm,
    pub apply_b_dec_to_input: bool,
    /// `1 / ‖W_dec,j‖` when the plugin's rescale rule is on.
    inverse_norms: Option<Vec<f32>>,
    add_b_dec: bool,
    /// What the plugin encodes with (`b_dec` zeroed when not applied).
    encode_weights: SaeWeights,
    w_dec: Vec<f32>,
    b_dec: Vec<f32>,
    /// Every function-changing cfg field and the value honoured (defaults
    /// filled in), for the results file.
    pub honoured: BTreeMap<String, serde_json::Value>,
}

fn cfg_str<'a>(
    cfg: &'a serde_json::Value,
    field: &str,
    default: &'a str,
    file: &Path,
) -> Result<&'a str> {
    match cfg.get(field) {
        None | Some(serde_json::Value::Null) => Ok(default),
        Some(v) => v
            .as_str()
            .with_context(|| format!("{}: field `{field}` = {v} is not a string", file.display())),
    }
}

fn read_scaler(dir: &Path, d_in: usize, field_value: &str) -> Result<Scaler> {
    let path = dir.join(SCALER_FILE);
    let text = std::fs::read_to_string(&path).with_context(|| {
        format!(
            "{}: cfg.json field `normalize_activations` = \"{field_value}\" needs the activation scaler SAELens saves beside the weights, and {} cannot be read (SAELens folds it into the weights of a finished SAE and sets the field to \"none\")",
            dir.display(),
            path.display()
        )
    })?;
    let v: serde_json::Value = serde_json::from_str(&text)
        .with_context(|| format!("{} is not valid JSON", path.display()))?;
    let scaling_factor = match v.get("scaling_factor") {
        None | Some(serde_json::Value::Null) => None,
        Some(s) => Some(
            s.as_f64()
                .filter(|f| f.is_finite() && *f != 0.0)
                .with_context(|| {
                    format!(
                        "{}: `scaling_factor` = {s} is not a non-zero number",
                        path.display()
                    )
                })? as f32,
        ),
    };
    let has_whitening = v
        .get("has_whitening")
        .and_then(|h| h.as_bool())
        .unwrap_or(true);
    let wpath = dir.join(WHITENING_FILE);
    let whitening = if has_whitening && wpath.exists() {
        let bytes =
            std::fs::read(&wpath).with_context(|| format!("cannot read {}", wpath.display()))?;
        let st = safetensors::SafeTensors::deserialize(&bytes)
            .with_context(|| format!("{} is not a valid safetensors file", wpath.display()))?;
        let get = |name: &str, shape: &[usize]| -> Result<Vec<f32>> {
            let t = st
                .tensor(name)
                .map_err(|_| anyhow::anyhow!("{}: no tensor `{name}`", wpath.display()))?;
            ensure!(
                t.shape() == shape,
                "{}: tensor `{name}` has shape {:?}, expected {shape:?}",
                wpath.display(),
                t.shape()
            );
            crate::saelens::tensor_to_f32(&t, name, &wpath)
        };
        Some(Whitening {
            mean: get("mean", &[d_in])?,
            matrix: get("matrix", &[d_in, d_in])?,
            inverse: get("inverse_matrix", &[d_in, d_in])?,
        })
    } else {
        None
    };
    Ok(Scaler {
        scaling_factor,
        whitening,
    })
}

/// `out[c] = Σ_k x[k] m[k, c]` for one row.
fn row_times(x: &[f32], m: &[f32], out: &mut [f32]) {
    let d = out.len();
    let mut acc = vec![0f64; d];
    for (k, &xv) in x.iter().enumerate() {
        let row = &m[k * d..(k + 1) * d];
        for (a, &w) in acc.iter_mut().zip(row) {
            *a += xv as f64 * w as f64;
        }
    }
    for (o, a) in out.iter_mut().zip(acc) {
        *o = a as f32;
    }
}

impl SaelensFunction {
    /// The function of `folder`, whose plugin declared `interop`.
    pub fn new(folder: &SaeFolder, interop: &SaelensInterop) -> Result<Self> {
        let cfg = &folder.cfg;
        let file = folder.path.join(crate::saelens::CFG_FILE);
        let (d_in, d_sae) = (folder.d_in, folder.d_sae);
        let mut honoured = BTreeMap::new();

        let dtype = cfg_str(cfg, "dtype", "float32", &file)?;
        ensure!(
            matches!(
                dtype,
                "float32" | "float64" | "torch.float32" | "torch.float64"
            ),
            "{}: field `dtype` = \"{dtype}\": SAELens computes in that precision and rdpbench in float32, so the numbers would differ; set \"dtype\": \"float32\" in cfg.json to evaluate the SAE in float32 (as SAELens's `dtype` override does)",
            file.display()
        );
        let reshape = cfg_str(cfg, "reshape_activations", "none", &file)?;
        ensure!(
            matches!(reshape, "none" | "hook_z"),
            "{}: field `reshape_activations` = \"{reshape}\" is not one SAELens 6.x knows (none, hook_z)",
            file.display()
        );
        honoured.insert("reshape_activations".into(), reshape.into());

        let normalize = cfg_str(cfg, "normalize_activations", "none", &file)?;
        let (norm, scaler) = match normalize {
            "none" => (RuntimeNorm::None, None),
            "constant_norm_rescale" => (RuntimeNorm::ConstantNormRescale, None),
            "layer_norm" => (RuntimeNorm::LayerNorm, None),
            "expected_average_only_in" => {
                let s = read_scaler(&folder.path, d_in, normalize)?;
                ensure!(
                    s.scaling_factor.is_some(),
                    "{}: field `normalize_activations` = \"expected_average_only_in\" but {} has no `scaling_factor`",
                    file.display(),
                    SCALER_FILE
                );
                (RuntimeNorm::None, Some(s))
            }
            "covariance_whitening" => {
                let s = read_scaler(&folder.path, d_in, normalize)?;
                ensure!(
                    s.whitening.is_some(),
                    "{}: field `normalize_activations` = \"covariance_whitening\" but {} is missing beside {}",
                    file.display(),
                    WHITENING_FILE,
                    SCALER_FILE
                );
                (RuntimeNorm::None, Some(s))
            }
            other => bail!(
                "{}: field `normalize_activations` = \"{other}\" is not one SAELens 6.x knows (none, expected_average_only_in, constant_norm_rescale, layer_norm, covariance_whitening)",
                file.display()
            ),
        };
        // rdpbench's own real-data SAEs are trained on inputs times the
        // cache's activation scale, recorded in their job record: the same
        // scale-in / unscale-out as SAELens's activation scaler.
        let own_scale = cfg
            .pointer("/metadata/rdpbench_real_job/activation_scale")
            .and_then(|v| v.as_f64());
        let scaler = match (scaler, own_scale) {
            (None, Some(s)) if s.is_finite() && s > 0.0 && s != 1.0 => {
                honoured.insert("rdpbench_real_job.activation_scale".into(), s.into());
                Some(Scaler {
                    scaling_factor: Some(s as f32),
                    whitening: None,
                })
            }
            (scaler, _) => scaler,
        };
        honoured.insert("normalize_activations".into(), normalize.into());
        if let Some(s) = &scaler {
            honoured.insert(
                "activation_scaler.scaling_factor".into(),
                s.scaling_factor
                    .map_or(serde_json::Value::Null, |f| (f as f64).into()),
            );
            honoured.insert(
                "activation_scaler.whitening".into(),
                s.whitening.is_some().into(),
            );
        }

        let apply_b_dec_to_input = match cfg.get("apply_b_dec_to_input") {
            None | Some(serde_json::Value::Null) => true,
            Some(v) => v.as_bool().with_context(|| {
                format!(
                    "{}: field `apply_b_dec_to_input` = {v} is not a boolean",
                    file.display()
                )
            })?,
        };
        honoured.insert("apply_b_dec_to_input".into(), apply_b_dec_to_input.into());
        for f in &interop.cfg_fields {
            let v = f
                .value_in(cfg)
                .with_context(|| format!("{}", file.display()))?;
            honoured.insert(f.name.clone(), v);
        }
        let full_cfg = interop.with_defaults(cfg);
        let flag = |name: &Option<String>| -> Result<Option<bool>> {
            name.as_ref()
                .map(|n| {
                    interop
                        .cfg_bool(&full_cfg, n)
                        .with_context(|| format!("{}", file.display()))
                })
                .transpose()
        };
        let rescale = flag(&interop.decode.divide_by_decoder_norm_when)?.unwrap_or(false);
        let add_b_dec = flag(&interop.decode.b_dec_only_when)?.unwrap_or(true);

        let w_dec = folder.tensor("W_dec")?.data.clone();
        let b_dec = folder.tensor("b_dec")?.data.clone();
        ensure!(
            w_dec.len() == d_sae * d_in && b_dec.len() == d_in,
            "{}: W_dec or b_dec does not have the shape d_in = {d_in}, d_sae = {d_sae} gives",
            folder.path.display()
        );
        let inverse_norms = rescale.then(|| {
            w_dec
                .chunks_exact(d_in)
                .map(|r| 1.0 / r.iter().map(|v| v * v).sum::<f32>().sqrt())
                .collect()
        });
        let mut encode_weights = folder.weights.clone();
        if !apply_b_dec_to_input {
            for t in &mut encode_weights.tensors {
                if t.name == "b_dec" {
                    t.data.iter_mut().for_each(|v| *v = 0.0);
                }
            }
        }
        Ok(Self {
            d_in,
            d_sae,
            scaler,
            norm,
            apply_b_dec_to_input,
            inverse_norms,
            add_b_dec,
            encode_weights,
            w_dec,
            b_dec,
            honoured,
        })
    }

    /// Steps 1-2 in place on `x` (`[rows, d_in]`); returns how each row was
    /// normalised.
    fn process_in(&self, x: &mut [f32]) -> Vec<RowNorm> {
        let d = self.d_in;
        let mut tmp = vec![0f32; d];
        x.chunks_exact_mut(d)
            .map(|row| {
                if let Some(s) = &self.scaler {
                    if let Some(f) = s.scaling_factor {
                        row.iter_mut().for_each(|v| *v *= f);
                    }
                    if let Some(w) = &s.whitening {
                        let centred: Vec<f32> =
                            row.iter().zip(&w.mean).map(|(v, m)| v - m).collect();
                        row_times(&centred, &w.matrix, &mut tmp);
                        row.copy_from_slice(&tmp);
                    }
                }
                match self.norm {
                    RuntimeNorm::None => RowNorm::Identity,
                    RuntimeNorm::ConstantNormRescale => {
                        let norm = row.iter().map(|v| (*v as f64).powi(2)).sum::<f64>().sqrt();
                        let c = ((d as f64).sqrt() / norm) as f32;
                        row.iter_mut().for_each(|v| *v *= c);
                        RowNorm::Scale(c)
                    }
                    RuntimeNorm::LayerNorm => {
                        let mu = (row.iter().map(|v| *v as f64).sum::<f64>() / d as f64) as f32;
                        row.iter_mut().for_each(|v| *v -= mu);
                        let var =
                            row.iter().map(|v| (*v as f64).powi(2)).sum::<f64>() / (d as f64 - 1.0);
                        let std = var.sqrt() as f32;
                        row.iter_mut().for_each(|v| *v /= std + 1e-5);
                        RowNorm::Affine { mu, std }
                    }
                }
            })
            .collect()
    }

    /// Steps 4-5: the reconstruction of `codes` in the input's units,
    /// `[rows, d_in]`.
    fn decode(&self, codes: &CsrMatrix, norms: &[RowNorm]) -> Vec<f32> {
        let d = self.d_in;
        let mut out = vec![0f32; codes.n_rows * d];
        let mut tmp = vec![0f32; d];
        for (r, row) in out.chunks_exact_mut(d).enumerate() {
            let (a, b) = (codes.indptr[r] as usize, codes.indptr[r + 1] as usize);
            for k in a..b {
                let j = codes.indices[k] as usize;
                let mut f = if codes.values.is_empty() {
                    1.0
                } else {
                    codes.values[k]
                };
                if let Some(inv) = &self.inverse_norms {
                    f *= inv[j];
                }
                for (o, w) in row.iter_mut().zip(&self.w_dec[j * d..(j + 1) * d]) {
                    *o += f * w;
                }
            }
            if self.add_b_dec {
                row.iter_mut().zip(&self.b_dec).for_each(|(o, b)| *o += b);
            }
            match norms[r] {
                RowNorm::Identity => {}
                RowNorm::Scale(c) => row.iter_mut().for_each(|v| *v /= c),
                RowNorm::Affine { mu, std } => row.iter_mut().for_each(|v| *v = *v * std + mu),
            }
            if let Some(s) = &self.scaler {
                if let Some(w) = &s.whitening {
                    row_times(row, &w.inverse, &mut tmp);
                    for ((o, t), m) in row.iter_mut().zip(&tmp).zip(&w.mean) {
                        *o = t + m;
                    }
                }
                if let Some(f) = s.scaling_factor {
                    row.iter_mut().for_each(|v| *v /= f);
                }
            }
        }
        out
    }

    /// Codes `[rows, d_sae]` and reconstruction `[rows, d_in]` of `x`
    /// (`[rows, d_in]`, in the activations' own units) with `sae`, the
    /// folder's plugin.
    pub fn run(&self, sae: &dyn SaeArchitecture, x: &[f32]) -> Result<(CsrMatrix, Vec<f32>)> {
        let rows = x.len() / self.d_in;
        let mut sae_in = x.to_vec();
        let norms = self.process_in(&mut sae_in);
        let codes = sae.encode(
            &self.encode_weights,
            MatrixView {
                rows,
                cols: self.d_in,
                data: &sae_in,
            },
        )?;
        ensure!(
            codes.n_rows == rows && codes.n_cols == self.d_sae,
            "the plugin returned codes [{}, {}] for {rows} rows and d_sae = {}",
            codes.n_rows,
            codes.n_cols,
            self.d_sae
        );
        let x_hat = self.decode(&codes, &norms);
        Ok((codes, x_hat))
    }
}

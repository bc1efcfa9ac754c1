//! SAELens v6 folders: `cfg.json` + `sae_weights.safetensors`.
//!
//! Tensor names and shapes (row-major `f32`), from `d_in`/`d_sae` in `cfg.json`:
//!
//! | `architecture` | tensors |
//! |---|---|
//! | `standard`, `topk` | `W_enc [d_in, d_sae]`, `b_enc [d_sae]`, `W_dec [d_sae, d_in]`, `b_dec [d_in]` |
//! | `jumprelu` | the four above and `threshold [d_sae]` |
//! | `gated` | `W_enc`, `b_gate [d_sae]`, `r_mag [d_sae]`, `b_mag [d_sae]`, `W_dec`, `b_dec` |
//!
//! BatchTopK and Matryoshka SAEs are saved as `jumprelu` with their running
//! threshold broadcast to `[d_sae]` (as SAELens does). `topk` needs `k` in
//! `cfg.json`. Loading validates every name, dtype and shape and never trusts
//! the file: errors name the file, the tensor and both shapes. `f64`, `f16`
//! and `bf16` tensors are converted to `f32`; saving writes `f32`.
//!
//! `cfg.json` is written as produced by the trainer; it carries the fields
//! SAELens v6 reads (`architecture`, `d_in`, `d_sae`, `dtype`, `device`,
//! `apply_b_dec_to_input`, `normalize_activations`, `reshape_activations`,
//! `metadata`, and `k` for TopK), with rdpbench's own training record inside
//! `metadata` (keys prefixed `rdpbench_`).

use anyhow::{Context, Result, bail, ensure};
use rdpbench_sdk::{NamedTensor, SaeWeights};
use safetensors::{Dtype, SafeTensors, tensor::TensorView};
use std::path::{Path, PathBuf};

/// The config file of a folder.
pub const CFG_FILE: &str = "cfg.json";
/// rdpbench's held-out scores of a trained SAE, beside its weights.
pub const EVAL_FILE: &str = "eval.json";
/// The weights file of a folder.
pub const WEIGHTS_FILE: &str = "sae_weights.safetensors";

/// The SAELens architectures rdpbench reads and writes.
pub const SUPPORTED: [&str; 4] = ["standard", "topk", "jumprelu", "gated"];

/// Expected tensors of an architecture, in saving order.
pub fn expected_tensors(
    architecture: &str,
    d_in: usize,
    d_sae: usize,
) -> Result<Vec<(&'static str, Vec<usize>)>> {
    let enc = ("W_enc", vec![d_in, d_sae]);
    let dec = ("W_dec", vec![d_sae, d_in]);
    let b_dec = ("b_dec", vec![d_in]);
    let lat = |n: &'static str| (n, vec![d_sae]);
    Ok(match architecture {
        "standard" | "topk" => vec![enc, lat("b_enc"), dec, b_dec],
        "jumprelu" => vec![enc, lat("b_enc"), dec, b_dec, lat("threshold")],
        "gated" => vec![enc, lat("b_gate"), lat("r_mag"), lat("b_mag"), dec, b_dec],
        other => bail!("unsupported SAELens architecture `{other}` (rdpbench reads {SUPPORTED:?})"),
    })
}

/// The rdpbench architecture plugin that encodes a SAELens architecture.
pub fn plugin_for(architecture: &str) -> Result<&'static str> {
    Ok(match architecture {
        "standard" => "relu",
        "topk" => "topk",
        "jumprelu" => "jumprelu",
        "gated" => "gated",
        other => bail!("unsupported SAELens architecture `{other}` (rdpbench reads {SUPPORTED:?})"),
    })
}

/// A loaded, validated folder.
#[derive(Debug, Clone, PartialEq)]
pub struct SaeFolder {
    pub path: PathBuf,
    /// `cfg.json`, parsed.
    pub cfg: serde_json::Value,
    /// `cfg.json`'s `architecture` (`standard` when absent, as in SAELens < 6).
    pub architecture: String,
    pub d_in: usize,
    pub d_sae: usize,
    /// `cfg_json` is the file's text; tensors in [`expected_tensors`] order.
    pub weights: SaeWeights,
}

impl SaeFolder {
    /// The tensor `name` as a dense matrix view source.
    pub fn tensor(&self, name: &str) -> Result<&NamedTensor> {
        self.weights.tensor(name)
    }
}

fn cfg_dim(cfg: &serde_json::Value, field: &str, file: &Path) -> Result<usize> {
    cfg.get(field)
        .and_then(|v| v.as_u64())
        .filter(|&v| v > 0)
        .map(|v| v as usize)
        .with_context(|| {
            format!(
                "{}: field `{field}` is missing or not a positive integer",
                file.display()
            )
        })
}

/// Checks `weights` against its own `cfg.json` (names, shapes, `k` for TopK).
pub fn validate(weights: &SaeWeights, origin: &str) -> Result<(String, usize, usize)> {
    let cfg: serde_json::Value = serde_json::from_str(&weights.cfg_json)
        .with_context(|| format!("{origin}: cfg.json is not valid JSON"))?;
    let file = Path::new(origin).join(CFG_FILE);
    let arch = cfg
        .get("architecture")
        .and_then(|a| a.as_str())
        .unwrap_or("standard")
        .to_string();
    let (d_in, d_sae) = (
        cfg_dim(&cfg, "d_in", &file)?,
        cfg_dim(&cfg, "d_sae", &file)?,
    );
    if arch == "topk" {
        cfg_dim(&cfg, "k", &file)?;
    }
    for (name, shape) in
        expected_tensors(&arch, d_in, d_sae).with_context(|| format!("{}", file.display()))?
    {
        let t = weights.tensors.iter().find(|t| t.name == name).with_context(|| {
            format!("{origin}: {WEIGHTS_FILE} has no tensor `{name}` (architecture `{arch}` needs it, shape {shape:?})")
        })?;
        ensure!(
            t.shape == shape,
            "{origin}: {WEIGHTS_FILE}: tensor `{name}` has shape {:?}, expected {shape:?} (d_in = {d_in}, d_sae = {d_sae} from {CFG_FILE})",
            t.shape
        );
        ensure!(
            t.data.len() == shape.iter().product::<usize>(),
            "{origin}: tensor `{name}` holds {} values for shape {shape:?}",
            t.data.len()
        );
        if let Some(i) = t.data.iter().position(|v| !v.is_finite()) {
            bail!(
                "{origin}: {WEIGHTS_FILE}: tensor `{name}` has a non-finite value at flat index {i}"
            );
        }
    }
    Ok((arch, d_in, d_sae))
}

/// Saves `weights` as a SAELens folder at `dir`, atomically: it is written
/// to `<dir>.partial` and renamed, so a folder that exists is complete.
pub fn save(dir: &Path, weights: &SaeWeights) -> Result<()> {
    let (arch, d_in, d_sae) = validate(weights, &dir.display().to_string())?;
    let order = expected_tensors(&arch, d_in, d_sae)?;
    let partial = dir.with_extension("partial");
    if partial.exists() {
        std::fs::remove_dir_all(&partial)
            .with_context(|| format!("cannot remove {}", partial.display()))?;
    }
    std::fs::create_dir_all(&partial)
        .with_context(|| format!("cannot create {}", partial.display()))?;
    let bytes: Vec<(String, Vec<u8>, Vec<usize>)> = order
        .iter()
        .map(|(name, shape)| {
            let t = weights.tensor(name).expect("validated");
            let b: Vec<u8> = t.data.iter().flat_map(|v| v.to_le_bytes()).collect();
            (name.to_string(), b, shape.clone())
        })
        .collect();
    let views = bytes
        .iter()
        .map(|(n, b, s)| Ok((n.clone(), TensorView::new(Dtype::F32, s.clone(), b)?)))
        .collect::<Result<Vec<_>>>()?;
    let meta = std::collections::HashMap::from([("format".to_string(), "pt".to_string())]);
    let st = safetensors::serialize(views, Some(meta))?;
    std::fs::write(partial.join(WEIGHTS_FILE), st)?;
    std::fs::write(partial.join(CFG_FILE), &weights.cfg_json)?;
    if dir.exists() {
        std::fs::remove_dir_all(dir)
            .with_context(|| format!("cannot replace {}", dir.display()))?;
    }
    std::fs::rename(&partial, dir)
        .with_context(|| format!("cannot rename {} to {}", partial.display(), dir.display()))?;
    Ok(())
}

fn to_f32(view: &TensorView<'_>, name: &str, file: &Path) -> Result<Vec<f32>> {
    let b = view.data();
    Ok(match view.dtype() {
        Dtype::F32 => b
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect(),
        Dtype::F64 => b
            .chunks_exact(8)
            .map(|c| f64::from_le_bytes(c.try_into().expect("8 bytes")) as f32)
            .collect(),
        Dtype::F16 => b
            .chunks_exact(2)
            .map(|c| f16_to_f32(u16::from_le_bytes([c[0], c[1]])))
            .collect(),
        Dtype::BF16 => b
            .chunks_exact(2)
            .map(|c| f32::from_bits((u16::from_le_bytes([c[0], c[1]]) as u32) << 16))
            .collect(),
        other => bail!(
            "{}: tensor `{name}` has dtype {other:?}; rdpbench reads F32, F64, F16, BF16",
            file.display()
        ),
    })
}

/// IEEE half to single precision.
fn f16_to_f32(h: u16) -> f32 {
    let sign = ((h >> 15) as u32) << 31;
    let exp = ((h >> 10) & 0x1f) as i32;
    let frac = (h & 0x3ff) as u32;
    let bits = match exp {
        0 if frac == 0 => sign,
        // Subnormal: frac · 2^-24, exact in f32.
        0 => {
            return f32::from_bits(sign)
                + if sign != 0 { -1.0 } else { 1.0 } * frac as f32 * 2f32.powi(-24);
        }
        31 => sign | 0x7f80_0000 | (frac << 13),
        e => sign | (((e - 15 + 127) as u32) << 23) | (frac << 13),
    };
    f32::from_bits(bits)
}

/// Loads and validates a SAELens folder.
pub fn load(dir: &Path) -> Result<SaeFolder> {
    let cfg_path = dir.join(CFG_FILE);
    let cfg_json = std::fs::read_to_string(&cfg_path)
        .with_context(|| format!("cannot read {}", cfg_path.display()))?;
    let cfg: serde_json::Value = serde_json::from_str(&cfg_json)
        .with_context(|| format!("{} is not valid JSON", cfg_path.display()))?;
    let architecture = cfg
        .get("architecture")
        .and_then(|a| a.as_str())
        .unwrap_or("standard")
        .to_string();
    let (d_in, d_sae) = (
        cfg_dim(&cfg, "d_in", &cfg_path)?,
        cfg_dim(&cfg, "d_sae", &cfg_path)?,
    );
    let expected = expected_tensors(&architecture, d_in, d_sae)
        .with_context(|| format!("{}", cfg_path.display()))?;
    let w_path = dir.join(WEIGHTS_FILE);
    let bytes =
        std::fs::read(&w_path).with_context(|| format!("cannot read {}", w_path.display()))?;
    let st = SafeTensors::deserialize(&bytes)
        .with_context(|| format!("{} is not a valid safetensors file", w_path.display()))?;
    let mut tensors = Vec::with_capacity(expected.len());
    for (name, shape) in &expected {
        let view = st.tensor(name).map_err(|_| {
            anyhow::anyhow!(
                "{}: no tensor `{name}` (architecture `{architecture}` in {CFG_FILE} needs it, shape {shape:?}; the file has {:?})",
                w_path.display(),
                { let mut n = st.names(); n.sort(); n }
            )
        })?;
        ensure!(
            view.shape() == shape.as_slice(),
            "{}: tensor `{name}` has shape {:?}, expected {shape:?} (d_in = {d_in}, d_sae = {d_sae} from {CFG_FILE})",
            w_path.display(),
            view.shape()
        );
        tensors.push(NamedTensor {
            name: name.to_string(),
            shape: shape.clone(),
            data: to_f32(&view, name, &w_path)?,
        });
    }
    for extra in st.names() {
        if !expected.iter().any(|(n, _)| n == &extra) {
            tracing::warn!(
                "{}: ignoring tensor `{extra}` (not part of `{architecture}`)",
                w_path.display()
            );
        }
    }
    let weights = SaeWeights { cfg_json, tensors };
    validate(&weights, &dir.display().to_string())?;
    Ok(SaeFolder {
        path: dir.to_path_buf(),
        cfg,
        architecture,
        d_in,
        d_sae,
        weights,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn weights(arch: &str, d_in: usize, d_sae: usize) -> SaeWeights {
        let mut tensors = Vec::new();
        for (i, (name, shape)) in expected_tensors(arch, d_in, d_sae)
            .unwrap()
            .into_iter()
            .enumerate()
        {
            let n: usize = shape.iter().product();
            let data = (0..n).map(|j| ((j * 7 + i) as f32).sin() / 3.0).collect();
            tensors.push(NamedTensor {
                name: name.into(),
                shape,
                data,
            });
        }
        let cfg = serde_json::json!({"architecture": arch, "d_in": d_in, "d_sae": d_sae, "k": 2});
        SaeWeights {
            cfg_json: cfg.to_string(),
            tensors,
        }
    }

    #[test]
    fn every_architecture_round_trips_bit_identically() {
        let tmp = std::env::temp_dir().join(format!("rdpbench-saelens-{}", std::process::id()));
        for arch in SUPPORTED {
            let w = weights(arch, 5, 7);
            let dir = tmp.join(arch);
            save(&dir, &w).unwrap();
            let back = load(&dir).unwrap();
            assert_eq!(back.weights.cfg_json, w.cfg_json);
            assert_eq!(back.architecture, arch);
            for (a, b) in back.weights.tensors.iter().zip(&w.tensors) {
                assert_eq!(a.name, b.name);
                assert_eq!(a.shape, b.shape);
                assert!(
                    a.data
                        .iter()
                        .zip(&b.data)
                        .all(|(x, y)| x.to_bits() == y.to_bits())
                );
            }
        }
        std::fs::remove_dir_all(&tmp).ok();
    }

    #[test]
    fn wrong_shape_and_missing_tensor_are_named() {
        let tmp = std::env::temp_dir().join(format!("rdpbench-saelens-bad-{}", std::process::id()));
        let w = weights("jumprelu", 4, 6);
        save(&tmp, &w).unwrap();
        // Claim a different width in cfg.json: every shape disagrees.
        let cfg = serde_json::json!({"architecture": "jumprelu", "d_in": 4, "d_sae": 8});
        std::fs::write(tmp.join(CFG_FILE), cfg.to_string()).unwrap();
        let err = format!("{:#}", load(&tmp).unwrap_err());
        assert!(
            err.contains("sae_weights.safetensors")
                && err.contains("W_enc")
                && err.contains("[4, 6]")
                && err.contains("[4, 8]"),
            "{err}"
        );
        // Gated needs tensors this file lacks.
        let cfg = serde_json::json!({"architecture": "gated", "d_in": 4, "d_sae": 6});
        std::fs::write(tmp.join(CFG_FILE), cfg.to_string()).unwrap();
        let err = format!("{:#}", load(&tmp).unwrap_err());
        assert!(err.contains("b_gate") && err.contains("gated"), "{err}");
        let cfg = serde_json::json!({"architecture": "crosscoder", "d_in": 4, "d_sae": 6});
        std::fs::write(tmp.join(CFG_FILE), cfg.to_string()).unwrap();
        let err = format!("{:#}", load(&tmp).unwrap_err());
        assert!(
            err.contains("crosscoder") && err.contains("cfg.json"),
            "{err}"
        );
        std::fs::remove_dir_all(&tmp).ok();
    }

    #[test]
    fn half_precision_converts() {
        assert_eq!(f16_to_f32(0x3c00), 1.0);
        assert_eq!(f16_to_f32(0xc000), -2.0);
        assert_eq!(f16_to_f32(0x0001), 2f32.powi(-24));
        assert!(f16_to_f32(0x7c00).is_infinite());
    }
}

/// Writes `bytes` to `path` atomically: a temporary file in the same folder,
/// fsynced, then renamed over `path`.
pub fn write_file_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let mut f = std::fs::File::create(&tmp).with_context(|| format!("cannot create {}", tmp.display()))?;
    f.write_all(bytes).and_then(|_| f.sync_all()).with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("cannot rename {} to {}", tmp.display(), path.display()))
}

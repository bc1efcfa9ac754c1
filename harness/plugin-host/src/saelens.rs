//! SAELens v6 folders: `cfg.json` + `sae_weights.safetensors`.
//!
//! The host knows no architecture: which tensors a folder holds (names and
//! symbolic shapes, in saving order), which extra `cfg.json` fields it needs,
//! and which plugin encodes it all come from the SAE plugins' declarations
//! ([`SaeSpec::saelens`](rdpbench_sdk::SaeSpec)). A folder is encoded by the
//! plugin that trained it when rdpbench's own job record names a loaded one
//! that saves under the folder's `architecture`, else by the loaded plugin
//! that claims that string in its `loads` list.
//!
//! Loading validates every name, dtype and shape and never trusts the file:
//! errors name the file, the tensor and both shapes. `f64`, `f16` and `bf16`
//! tensors are converted to `f32`; saving writes `f32`. `cfg.json` is written
//! as produced by the trainer; it carries the fields SAELens v6 reads, with
//! rdpbench's own training record inside `metadata` (keys prefixed
//! `rdpbench_`).

use crate::{LoadedSae, PluginSet};
use anyhow::{Context, Result, bail, ensure};
use rdpbench_sdk::sae::SaelensInterop;
use rdpbench_sdk::{NamedTensor, SaeWeights};
use safetensors::{Dtype, SafeTensors, tensor::TensorView};
use std::path::{Path, PathBuf};

/// The config file of a folder.
pub const CFG_FILE: &str = "cfg.json";
/// rdpbench's held-out scores of a trained SAE, beside its weights.
pub const EVAL_FILE: &str = "eval.json";
/// The weights file of a folder.
pub const WEIGHTS_FILE: &str = "sae_weights.safetensors";

/// A loaded, validated folder.
#[derive(Debug, Clone, PartialEq)]
pub struct SaeFolder {
    pub path: PathBuf,
    /// `cfg.json`, parsed.
    pub cfg: serde_json::Value,
    /// `cfg.json`'s `architecture` (`standard` when absent, as in SAELens < 6).
    pub architecture: String,
    /// The id of the SAE plugin that encodes it.
    pub plugin: String,
    pub d_in: usize,
    pub d_sae: usize,
    /// `cfg_json` is the file's text; tensors in the plugin's declared order.
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

/// `cfg.json`'s `architecture`: `standard` when absent, as in SAELens < 6.
fn architecture_of(cfg: &serde_json::Value) -> String {
    cfg.get("architecture")
        .and_then(|a| a.as_str())
        .unwrap_or("standard")
        .to_string()
}

/// The plugin that trained a folder, from rdpbench's job record in its
/// `metadata` (absent for folders written elsewhere).
fn trained_by(cfg: &serde_json::Value) -> Option<&str> {
    [
        "/metadata/rdpbench_job/architecture",
        "/metadata/rdpbench_real_job/architecture",
    ]
    .iter()
    .find_map(|p| cfg.pointer(p).and_then(|a| a.as_str()))
}

/// The loaded plugin that encodes a folder with `cfg` (see the module docs);
/// an error naming the architecture and what the loaded plugins claim.
pub fn plugin_for<'a>(plugins: &'a PluginSet, cfg: &serde_json::Value) -> Result<&'a LoadedSae> {
    let arch = architecture_of(cfg);
    if let Some(id) = trained_by(cfg)
        && let Ok(sae) = plugins.sae(id)
        && sae.cached_spec().saelens_architecture == arch
    {
        return Ok(sae);
    }
    let claims: Vec<&LoadedSae> = plugins
        .saes
        .iter()
        .filter(|s| s.cached_spec().saelens.loads.contains(&arch))
        .collect();
    match claims.as_slice() {
        [one] => Ok(one),
        [] => {
            let known: Vec<String> = plugins
                .saes
                .iter()
                .flat_map(|s| {
                    s.cached_spec()
                        .saelens
                        .loads
                        .iter()
                        .map(move |l| format!("{l} ({})", s.id()))
                })
                .collect();
            bail!(
                "no loaded SAE plugin reads SAELens architecture `{arch}` (loaded plugins read: {}); add a plugin that declares it in `saelens.loads`",
                if known.is_empty() {
                    "none".to_string()
                } else {
                    known.join(", ")
                }
            )
        }
        many => {
            let ids: Vec<&str> = many.iter().map(|s| s.id()).collect();
            bail!(
                "SAELens architecture `{arch}` is claimed by several loaded SAE plugins: {ids:?}; remove all but one from the plugin path"
            )
        }
    }
}

/// Checks `weights` against its own `cfg.json` and the plugin's declared
/// SAELens layout (tensor names and shapes, extra `cfg.json` fields);
/// returns `(architecture, d_in, d_sae)`.
pub fn validate(
    weights: &SaeWeights,
    interop: &SaelensInterop,
    origin: &str,
) -> Result<(String, usize, usize)> {
    let cfg: serde_json::Value = serde_json::from_str(&weights.cfg_json)
        .with_context(|| format!("{origin}: cfg.json is not valid JSON"))?;
    let file = Path::new(origin).join(CFG_FILE);
    let arch = architecture_of(&cfg);
    let (d_in, d_sae) = (
        cfg_dim(&cfg, "d_in", &file)?,
        cfg_dim(&cfg, "d_sae", &file)?,
    );
    check_cfg_fields(&cfg, interop, &file)?;
    ensure!(
        !interop.tensors.is_empty(),
        "{origin}: the plugin for architecture `{arch}` declares no SAELens tensors"
    );
    for (name, shape) in interop.expected_tensors(d_in, d_sae) {
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

/// Every extra `cfg.json` field the plugin declares is present, of its type
/// and in its range (TopK: `k`, a positive integer no larger than `d_sae`
/// when its declaration says so).
fn check_cfg_fields(cfg: &serde_json::Value, interop: &SaelensInterop, file: &Path) -> Result<()> {
    for f in &interop.cfg_fields {
        f.value_in(cfg)
            .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
    }
    Ok(())
}

/// Saves `weights` as a SAELens folder at `dir` in the layout `interop`
/// declares, atomically: it is written to a hidden `.<name>.partial` folder
/// beside it and renamed, so a folder that exists is complete (hidden, so
/// that no reader of the parent folder takes a leftover for an SAE).
pub fn save(dir: &Path, weights: &SaeWeights, interop: &SaelensInterop) -> Result<()> {
    let (_, d_in, d_sae) = validate(weights, interop, &dir.display().to_string())?;
    let order = interop.expected_tensors(d_in, d_sae);
    let name = dir
        .file_name()
        .with_context(|| format!("{} has no folder name", dir.display()))?;
    // Not `with_extension`: job ids hold dots (`relu-w32-l1_0.3-s0`).
    let partial = dir.with_file_name(format!(".{}.partial", name.to_string_lossy()));
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
    let saving = || format!("saving the SAE folder {}", dir.display());
    rdpbench_store::write_atomic(&partial.join(WEIGHTS_FILE), &st).with_context(saving)?;
    rdpbench_store::write_atomic(&partial.join(CFG_FILE), weights.cfg_json.as_bytes())
        .with_context(saving)?;
    if dir.exists() {
        std::fs::remove_dir_all(dir)
            .with_context(|| format!("cannot replace {}", dir.display()))?;
    }
    std::fs::rename(&partial, dir)
        .with_context(|| format!("cannot rename {} to {}", partial.display(), dir.display()))?;
    Ok(())
}

/// A tensor's values as `f32` (F32, F64, F16, BF16); an error names the
/// file and tensor of any other dtype.
pub fn tensor_to_f32(view: &TensorView<'_>, name: &str, file: &Path) -> Result<Vec<f32>> {
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
pub fn f16_to_f32(h: u16) -> f32 {
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

/// Loads and validates a SAELens folder, in the layout of the plugin that
/// encodes it ([`plugin_for`]).
pub fn load(dir: &Path, plugins: &PluginSet) -> Result<SaeFolder> {
    let cfg_path = dir.join(CFG_FILE);
    let (_, cfg) = read_cfg(&cfg_path)?;
    let plugin = plugin_for(plugins, &cfg).with_context(|| format!("{}", cfg_path.display()))?;
    load_with_layout(dir, &plugin.cached_spec().saelens, plugin.id())
}

fn read_cfg(cfg_path: &Path) -> Result<(String, serde_json::Value)> {
    let cfg_json = std::fs::read_to_string(cfg_path)
        .with_context(|| format!("cannot read {}", cfg_path.display()))?;
    let cfg: serde_json::Value = serde_json::from_str(&cfg_json)
        .with_context(|| format!("{} is not valid JSON", cfg_path.display()))?;
    Ok((cfg_json, cfg))
}

/// Loads and validates a SAELens folder in the layout `interop` declares,
/// recording `plugin` as the plugin that encodes it.
pub fn load_with_layout(dir: &Path, interop: &SaelensInterop, plugin: &str) -> Result<SaeFolder> {
    let cfg_path = dir.join(CFG_FILE);
    let (cfg_json, cfg) = read_cfg(&cfg_path)?;
    let architecture = architecture_of(&cfg);
    let (d_in, d_sae) = (
        cfg_dim(&cfg, "d_in", &cfg_path)?,
        cfg_dim(&cfg, "d_sae", &cfg_path)?,
    );
    check_cfg_fields(&cfg, interop, &cfg_path)?;
    let expected = interop.expected_tensors(d_in, d_sae);
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
            data: tensor_to_f32(&view, name, &w_path)?,
        });
    }
    for extra in st.names() {
        if !expected.iter().any(|(n, _)| n == extra) {
            tracing::warn!(
                "{}: ignoring tensor `{extra}` (not part of `{architecture}`)",
                w_path.display()
            );
        }
    }
    let weights = SaeWeights { cfg_json, tensors };
    validate(&weights, interop, &dir.display().to_string())?;
    Ok(SaeFolder {
        path: dir.to_path_buf(),
        cfg,
        architecture,
        plugin: plugin.to_string(),
        d_in,
        d_sae,
        weights,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rdpbench_sdk::sae::{Dim, SaelensCfgField, SaelensTensor, ValueType};

    /// A layout as a plugin would declare it: the standard four tensors
    /// plus `extra` per-latent ones, and `k` in cfg.json when `needs_k`.
    fn layout(extra: &[&str], needs_k: bool) -> SaelensInterop {
        let mut tensors = SaelensInterop::standard_tensors();
        tensors.extend(extra.iter().map(|n| SaelensTensor::new(n, &[Dim::DSae])));
        SaelensInterop {
            loads: Vec::new(),
            tensors,
            cfg_fields: if needs_k {
                vec![SaelensCfgField {
                    name: "k".into(),
                    kind: ValueType::Int,
                    range: None,
                    at_most: Some("d_sae".into()),
                    description: "active latents per row".into(),
                    default: None,
                }]
            } else {
                Vec::new()
            },
            ..SaelensInterop::default()
        }
    }

    fn weights(interop: &SaelensInterop, arch: &str, d_in: usize, d_sae: usize) -> SaeWeights {
        let tensors = interop
            .expected_tensors(d_in, d_sae)
            .into_iter()
            .enumerate()
            .map(|(i, (name, shape))| {
                let n: usize = shape.iter().product();
                let data = (0..n).map(|j| ((j * 7 + i) as f32).sin() / 3.0).collect();
                NamedTensor { name, shape, data }
            })
            .collect();
        let cfg = serde_json::json!({"architecture": arch, "d_in": d_in, "d_sae": d_sae, "k": 2});
        SaeWeights {
            cfg_json: cfg.to_string(),
            tensors,
        }
    }

    fn scratch(tag: &str) -> PathBuf {
        std::env::temp_dir().join(format!("rdpbench-saelens-{tag}-{}", std::process::id()))
    }

    #[test]
    fn every_declared_layout_round_trips_bit_identically() {
        let tmp = scratch("rt");
        let layouts = [
            ("standard", layout(&[], false)),
            ("topk", layout(&[], true)),
            ("jumprelu", layout(&["threshold"], false)),
            ("my_arch", layout(&["gate", "scale"], false)),
        ];
        for (arch, l) in &layouts {
            let w = weights(l, arch, 5, 7);
            let dir = tmp.join(arch);
            save(&dir, &w, l).unwrap();
            let back = load_with_layout(&dir, l, "p").unwrap();
            assert_eq!(back.weights.cfg_json, w.cfg_json);
            assert_eq!(
                (back.architecture.as_str(), back.plugin.as_str()),
                (*arch, "p")
            );
            assert_eq!(back.weights.tensors.len(), l.tensors.len());
            for (a, b) in back.weights.tensors.iter().zip(&w.tensors) {
                assert_eq!((&a.name, &a.shape), (&b.name, &b.shape));
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
    fn wrong_shape_missing_tensor_and_missing_cfg_field_are_named() {
        let tmp = scratch("bad");
        let jumprelu = layout(&["threshold"], false);
        save(&tmp, &weights(&jumprelu, "jumprelu", 4, 6), &jumprelu).unwrap();
        // Claim a different width in cfg.json: every shape disagrees.
        let cfg = serde_json::json!({"architecture": "jumprelu", "d_in": 4, "d_sae": 8});
        std::fs::write(tmp.join(CFG_FILE), cfg.to_string()).unwrap();
        let err = format!("{:#}", load_with_layout(&tmp, &jumprelu, "p").unwrap_err());
        assert!(
            err.contains("sae_weights.safetensors")
                && err.contains("W_enc")
                && err.contains("[4, 6]")
                && err.contains("[4, 8]"),
            "{err}"
        );
        // A layout that needs a tensor this file lacks.
        let cfg = serde_json::json!({"architecture": "gated", "d_in": 4, "d_sae": 6});
        std::fs::write(tmp.join(CFG_FILE), cfg.to_string()).unwrap();
        let gated = layout(&["b_gate"], false);
        let err = format!("{:#}", load_with_layout(&tmp, &gated, "p").unwrap_err());
        assert!(err.contains("b_gate") && err.contains("gated"), "{err}");
        // A declared cfg.json field that is missing.
        let err = format!(
            "{:#}",
            load_with_layout(&tmp, &layout(&[], true), "p").unwrap_err()
        );
        assert!(err.contains("`k`") && err.contains("cfg.json"), "{err}");
        std::fs::remove_dir_all(&tmp).ok();
    }

    #[test]
    fn a_cfg_json_with_k_above_d_sae_is_refused_on_load() {
        let tmp = scratch("k-above-d-sae");
        let topk = layout(&[], true);
        save(&tmp, &weights(&topk, "topk", 4, 6), &topk).unwrap();
        load_with_layout(&tmp, &topk, "p").unwrap();
        let cfg = serde_json::json!({"architecture": "topk", "d_in": 4, "d_sae": 6, "k": 7});
        std::fs::write(tmp.join(CFG_FILE), cfg.to_string()).unwrap();
        let err = format!("{:#}", load_with_layout(&tmp, &topk, "p").unwrap_err());
        assert!(
            err.contains("cfg.json") && err.contains("`k` = 7 exceeds `d_sae` = 6"),
            "{err}"
        );
        std::fs::remove_dir_all(&tmp).ok();
    }

    #[test]
    fn a_folder_nobody_claims_is_refused_with_its_architecture() {
        let cfg = serde_json::json!({"architecture": "crosscoder", "d_in": 4, "d_sae": 6});
        let err = format!("{:#}", plugin_for(&PluginSet::default(), &cfg).unwrap_err());
        assert!(
            err.contains("crosscoder") && err.contains("saelens.loads"),
            "{err}"
        );
    }

    #[test]
    fn half_precision_converts() {
        assert_eq!(f16_to_f32(0x3c00), 1.0);
        assert_eq!(f16_to_f32(0xc000), -2.0);
        assert_eq!(f16_to_f32(0x0001), 2f32.powi(-24));
        assert!(f16_to_f32(0x7c00).is_infinite());
    }
}

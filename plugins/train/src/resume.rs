//! The resume state of one SAE's training, written every `checkpoint_every`
//! steps to `<checkpoint_dir>/resume/` so an interrupted run continues
//! mid-way and ends bit-identical to an uninterrupted one.
//!
//! Layout: `state.json` ([`ResumeState`]: step, data-stream position, AdamW
//! step, architecture buffers, dead-latent counters, progress sums, the
//! configuration) names a tensor file `tensors-<step>.safetensors` holding
//! `param/<name>`, `adam_m/<name>`, `adam_v/<name>` for every trainable
//! parameter (`f32`, the parameter's shape). The tensor file is written
//! first, then `state.json` replaces the old one by an atomic rename, then
//! older tensor files are removed: a crash at any point leaves a consistent pair.
//!
//! The data stream's position is a row count: the SDK's training loop has no
//! random state after initialisation, and the host's toy source is
//! counter-based, so re-reading the held-out rows and skipping the rows
//! already trained on puts the stream exactly where it was.

use super::TrainConfig;
use super::arch::Buffers;
use anyhow::{Context as _, Result, bail};
use candle_core::{Device, Tensor};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::Path;

/// Folder name of the resume state inside `checkpoint_dir`.
pub const DIR: &str = "resume";
/// Version of the layout above.
pub const FORMAT: u32 = 1;
/// Tensor name prefixes.
pub const PARAM: &str = "param/";
pub const ADAM_M: &str = "adam_m/";
pub const ADAM_V: &str = "adam_v/";

const STATE_FILE: &str = "state.json";

/// Running sums of the training-loss report since the last report.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct LogSums {
    pub loss: f64,
    pub recon: f64,
    pub l0: f64,
    pub logged: u64,
}

/// Everything but the tensors (see the module docs).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResumeState {
    pub format: u32,
    pub config: TrainConfig,
    pub d_in: usize,
    /// Optimiser steps done.
    pub step: u64,
    /// Training rows read after the held-out rows.
    pub rows_read: u64,
    /// AdamW's `t`.
    pub adam_step: u64,
    pub buffers: Buffers,
    /// Per latent, training rows since it last fired.
    pub since_fired: Vec<u64>,
    pub log: LogSums,
    /// Parameter names, in the optimiser's order.
    pub params: Vec<String>,
}

#[derive(Debug, Serialize, Deserialize)]
struct StateFile {
    tensors: String,
    state: ResumeState,
}

/// Whether a checkpoint of a run with configuration `a` may continue as a
/// run with `b`: equal in everything except reporting and checkpointing
/// (`log_every`, `eval_every`, `checkpoint_every`, `checkpoint_dir`).
pub fn same_run(a: &TrainConfig, b: &TrainConfig) -> bool {
    let strip = |c: &TrainConfig| TrainConfig {
        log_every: 0,
        eval_every: 0,
        checkpoint_every: 0,
        checkpoint_dir: None,
        ..c.clone()
    };
    strip(a) == strip(b)
}

/// Writes the state and its tensors into `dir` (created if needed).
pub fn write(dir: &Path, state: &ResumeState, tensors: &HashMap<String, Tensor>) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let name = format!("tensors-{}.safetensors", state.step);
    let tmp = dir.join(format!("{name}.tmp"));
    candle_core::safetensors::save(tensors, &tmp)
        .with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, dir.join(&name))?;
    let file = StateFile {
        tensors: name.clone(),
        state: state.clone(),
    };
    let tmp = dir.join(format!("{STATE_FILE}.tmp"));
    std::fs::write(&tmp, serde_json::to_string(&file)?)
        .with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, dir.join(STATE_FILE))?;
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let n = entry.file_name().to_string_lossy().into_owned();
        if n.starts_with("tensors-") && n != name {
            std::fs::remove_file(entry.path()).ok();
        }
    }
    Ok(())
}

/// The state in `dir`, or `None` when there is none.
pub fn read(dir: &Path) -> Result<Option<(ResumeState, HashMap<String, Tensor>)>> {
    let path = dir.join(STATE_FILE);
    if !path.is_file() {
        return Ok(None);
    }
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    let file: StateFile = serde_json::from_str(&text)
        .with_context(|| format!("{}: not a resume state", path.display()))?;
    if file.state.format != FORMAT {
        bail!(
            "{}: resume state format {}, this SDK reads {FORMAT}",
            path.display(),
            file.state.format
        );
    }
    if file.tensors.contains(['/', '\\']) {
        bail!(
            "{}: tensor file `{}` is not a plain name",
            path.display(),
            file.tensors
        );
    }
    let tpath = dir.join(&file.tensors);
    let tensors = candle_core::safetensors::load(&tpath, &Device::Cpu)
        .with_context(|| format!("cannot read {}", tpath.display()))?;
    Ok(Some((file.state, tensors)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::SplitMix64;
    use crate::{
        Architecture, Forward, Params, StepContext, decode, ops, relu_pre_activation, train,
    };
    use rdpbench_api::sae::{BatchSource, NoProgress, SaeSpec, SaeWeights, TrainRequest};

    /// A TopK SAE with AuxK and a buffer (a running mean of the batch L0), so
    /// that every kind of state a checkpoint holds is exercised.
    #[derive(Debug)]
    struct TinyTopK;

    impl Architecture for TinyTopK {
        fn spec(&self) -> SaeSpec {
            SaeSpec {
                id: "tiny-topk".into(),
                version: "0".into(),
                description: String::new(),
                citation: String::new(),
                saelens_architecture: "topk".into(),
                default_hyperparameters: serde_json::json!({}),
                ..SaeSpec::default()
            }
        }
        fn forward(
            &self,
            p: &Params,
            x: &candle_core::Tensor,
            ctx: &mut StepContext<'_>,
        ) -> candle_core::Result<Forward> {
            let b_dec = p.get("b_dec")?;
            let z = relu_pre_activation(p.get("W_enc")?, p.get("b_enc")?, b_dec, x)?;
            let codes = (&z * ops::topk_mask(&z, ctx.config.k_per_row())?)?;
            let m = ctx.buffers.entry("running".into()).or_insert(0.0);
            *m = 0.9 * *m + 0.1 * codes.sum_all()?.to_scalar::<f32>()? as f64;
            Ok(Forward {
                x_hat: decode(&codes, p.get("W_dec")?, b_dec)?,
                codes,
                losses: Vec::new(),
                aux_pre_acts: Some(z),
            })
        }
        fn encode(
            &self,
            w: &Params,
            x: &candle_core::Tensor,
            _cfg: &serde_json::Value,
        ) -> Result<candle_core::Tensor> {
            Ok(relu_pre_activation(
                w.get("W_enc")?,
                w.get("b_enc")?,
                w.get("b_dec")?,
                x,
            )?)
        }
    }

    /// Row `r` depends only on `r` (counter-based, like the toy source); the
    /// source fails once `fail_after` rows have been read (an interruption).
    struct Rows {
        next: u64,
        fail_after: Option<u64>,
    }

    const D_IN: usize = 6;

    impl BatchSource for Rows {
        fn d_in(&self) -> usize {
            D_IN
        }
        fn next_batch(&mut self, out: &mut [f32], rows: usize) -> Result<usize> {
            for r in 0..rows as u64 {
                if self.fail_after.is_some_and(|f| self.next + r >= f) {
                    bail!("interrupted at row {}", self.next + r);
                }
                let mut g = SplitMix64::new(7, self.next + r);
                for v in &mut out[r as usize * D_IN..(r as usize + 1) * D_IN] {
                    *v = (g.uniform() < 0.3) as u8 as f32 * (1.0 + g.normal() as f32 * 0.1);
                }
            }
            self.next += rows as u64;
            Ok(rows)
        }
    }

    fn run(dir: &Path, fail_after: Option<u64>) -> Result<SaeWeights> {
        let config = serde_json::json!({
            "d_sae": 12, "k": 2, "batch_size": 16, "steps": 40, "lr": 1e-2,
            "eval_rows": 32, "dead_after_rows": 48, "aux_k": 3, "log_every": 7,
            "checkpoint_every": 10, "checkpoint_dir": dir, "weight_decay": 0.01,
            "lr_warmup_steps": 5,
        })
        .to_string();
        train(
            &TinyTopK,
            TrainRequest {
                config: &config,
                data: &mut Rows {
                    next: 0,
                    fail_after,
                },
                observer: &mut NoProgress,
            },
        )
    }

    fn scratch(name: &str) -> std::path::PathBuf {
        let d = std::env::temp_dir().join(format!("rdpbench-resume-{name}-{}", std::process::id()));
        std::fs::remove_dir_all(&d).ok();
        d
    }

    /// Train 40 steps in one go; train again, interrupted in step 26 (after
    /// the checkpoint at step 20), then resume to 40: identical weights, bit
    /// for bit, and the same `cfg.json` (held-out scores included) but for
    /// the checkpoint folder's name.
    #[test]
    fn interrupted_training_resumes_bit_identical() -> Result<()> {
        let (a, b) = (scratch("whole"), scratch("split"));
        let whole = run(&a, None)?;
        let err = run(&b, Some(32 + 25 * 16 + 3)).unwrap_err();
        assert!(format!("{err:#}").contains("interrupted"), "{err:#}");
        let state: StateFile =
            serde_json::from_str(&std::fs::read_to_string(b.join(DIR).join(STATE_FILE))?)?;
        assert_eq!(state.state.step, 20);
        assert_eq!(state.state.rows_read, 20 * 16);
        assert!(state.state.buffers.contains_key("running"));
        assert!(
            state.state.since_fired.iter().any(|&s| s > 0),
            "the test should reach latents that did not fire"
        );
        let resumed = run(&b, None)?;
        // cfg.json records the checkpoint folder, the one difference.
        assert_eq!(
            resumed.cfg_json.replace("-split-", "-whole-"),
            whole.cfg_json
        );
        assert_eq!(resumed.tensors.len(), whole.tensors.len());
        for (x, y) in resumed.tensors.iter().zip(&whole.tensors) {
            assert_eq!((&x.name, &x.shape), (&y.name, &y.shape));
            assert!(
                x.data
                    .iter()
                    .zip(&y.data)
                    .all(|(p, q)| p.to_bits() == q.to_bits()),
                "tensor `{}` differs after resuming",
                x.name
            );
        }
        std::fs::remove_dir_all(&a).ok();
        std::fs::remove_dir_all(&b).ok();
        Ok(())
    }

    #[test]
    fn a_checkpoint_of_another_configuration_is_refused() -> Result<()> {
        let dir = scratch("other");
        run(&dir, Some(32 + 12 * 16)).unwrap_err();
        let config = serde_json::json!({
            "d_sae": 12, "k": 3, "batch_size": 16, "steps": 40, "eval_rows": 32,
            "checkpoint_every": 10, "checkpoint_dir": dir,
        })
        .to_string();
        let err = train(
            &TinyTopK,
            TrainRequest {
                config: &config,
                data: &mut Rows {
                    next: 0,
                    fail_after: None,
                },
                observer: &mut NoProgress,
            },
        )
        .unwrap_err();
        let msg = format!("{err:#}");
        assert!(
            msg.contains("cannot resume from") && msg.contains("another configuration"),
            "{msg}"
        );
        std::fs::remove_dir_all(&dir).ok();
        Ok(())
    }

    #[test]
    fn same_run_ignores_reporting_fields_only() {
        let a = TrainConfig::default();
        let b = TrainConfig {
            log_every: 1,
            eval_every: 3,
            checkpoint_every: 9,
            checkpoint_dir: Some("x".into()),
            ..a.clone()
        };
        assert!(same_run(&a, &b));
        assert!(!same_run(
            &a,
            &TrainConfig {
                seed: 1,
                ..a.clone()
            }
        ));
    }
}

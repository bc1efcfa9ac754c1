//! Sweeps: one SAELens folder per job under the sweep folder, written
//! atomically; a job whose folder exists with the same job record in its
//! `cfg.json` metadata is finished and is never retrained (resume).
//!
//! Within one job, the SDK writes a resume checkpoint every
//! `checkpoint_every` steps (default [`DEFAULT_CHECKPOINT_EVERY`]; set it in
//! `[train.hyperparameters]`, 0 disables) to `<sweep>/.partial/<job id>/`, so an
//! interrupted long training continues mid-way and ends bit-identical to an
//! uninterrupted one; the folder is removed once the job's SAE is saved.

use super::{ToyEval, TrainSettings, evaluate_on_toy, train_on_toy};
use crate::plugin::{LoadedSae, PluginSet};
use crate::saelens;
use anyhow::{Context, Result, bail};
use rdpbench_core::toy::{ToyConfig, ToyModel};
use rdpbench_sdk::TrainObserver;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Steps between resume checkpoints within one SAE's training, unless the
/// hyperparameters set `checkpoint_every`.
pub const DEFAULT_CHECKPOINT_EVERY: u64 = 500;

/// Folder (inside the sweep folder) of unfinished jobs' resume checkpoints.
pub const PARTIAL_DIR: &str = ".partial";

/// `hyperparameters` plus the checkpoint settings of a job trained in
/// `partial` (not part of the job record: they do not change the result).
fn with_checkpoints(hyperparameters: &serde_json::Value, partial: &Path) -> serde_json::Value {
    let mut h = hyperparameters.clone();
    if let Some(o) = h.as_object_mut() {
        o.entry("checkpoint_every")
            .or_insert(DEFAULT_CHECKPOINT_EVERY.into());
        o.entry("checkpoint_dir")
            .or_insert(partial.to_string_lossy().into_owned().into());
    }
    h
}

/// The sparsity knob of one job.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sparsity {
    K(f64),
    L1Coefficient(f64),
    L0Coefficient(f64),
}

impl Sparsity {
    fn label(&self) -> String {
        match self {
            Sparsity::K(k) => format!("k{k}"),
            Sparsity::L1Coefficient(c) => format!("l1_{c}"),
            Sparsity::L0Coefficient(c) => format!("l0_{c}"),
        }
    }
    fn json(&self) -> (&'static str, f64) {
        match *self {
            Sparsity::K(k) => ("k", k),
            Sparsity::L1Coefficient(c) => ("l1_coefficient", c),
            Sparsity::L0Coefficient(c) => ("l0_coefficient", c),
        }
    }
}

/// One SAE to train.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainJob {
    /// Folder name, e.g. `topk-w32-k4-s0`.
    pub id: String,
    pub architecture: String,
    pub d_sae: usize,
    pub sparsity: Sparsity,
    pub seed: u64,
    /// Everything passed to the plugin.
    pub hyperparameters: serde_json::Value,
    pub toy: ToyConfig,
    pub toy_seed: u64,
}

/// The jobs of a sweep, in a fixed order.
pub fn jobs(settings: &TrainSettings, toy: &ToyConfig) -> Result<Vec<TrainJob>> {
    let mut out = Vec::new();
    for arch in &settings.architectures {
        let sparsities: Vec<Sparsity> = match arch.as_str() {
            "topk" | "batchtopk" | "matryoshka" => {
                settings.k.iter().map(|&k| Sparsity::K(k)).collect()
            }
            "relu" | "gated" => settings
                .l1_coefficient
                .iter()
                .map(|&c| Sparsity::L1Coefficient(c))
                .collect(),
            "jumprelu" => settings
                .l0_coefficient
                .iter()
                .map(|&c| Sparsity::L0Coefficient(c))
                .collect(),
            other => bail!(
                "[train].architectures: unknown architecture `{other}` (relu, topk, batchtopk, jumprelu, gated, matryoshka)"
            ),
        };
        for &w in &settings.widths {
            for &s in &sparsities {
                for &seed in &settings.seeds {
                    let mut h = serde_json::Map::new();
                    h.extend(settings.hyperparameters.clone());
                    h.insert("d_sae".into(), w.into());
                    h.insert("steps".into(), settings.steps.into());
                    h.insert("batch_size".into(), settings.batch_size.into());
                    h.insert("lr".into(), settings.lr.into());
                    h.insert("eval_every".into(), settings.eval_every.into());
                    h.insert("seed".into(), seed.into());
                    let (key, v) = s.json();
                    h.insert(key.into(), v.into());
                    out.push(TrainJob {
                        id: format!("{arch}-w{w}-{}-s{seed}", s.label()),
                        architecture: arch.clone(),
                        d_sae: w,
                        sparsity: s,
                        seed,
                        hyperparameters: serde_json::Value::Object(h),
                        toy: toy.clone(),
                        toy_seed: settings.toy_seed,
                    });
                }
            }
        }
    }
    Ok(out)
}

/// What happened to one job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobOutcome {
    pub job: TrainJob,
    pub folder: PathBuf,
    /// `false` when a finished folder was found (resume).
    pub trained: bool,
    pub eval: ToyEval,
}

/// The sweep summary written as `train.json` (and `train.csv`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SweepSummary {
    pub schema_version: u32,
    pub rdpbench_version: String,
    pub jobs: Vec<JobOutcome>,
}

/// Callbacks of a sweep (progress display).
pub trait SweepObserver {
    fn job_started(&mut self, _index: usize, _total: usize, _job: &TrainJob, _resumed: bool) {}
    fn training_observer(&mut self) -> &mut dyn TrainObserver;
}

fn find_sae<'a>(plugins: &'a PluginSet, id: &str) -> Result<&'a LoadedSae> {
    plugins.saes.iter().find(|s| s.id() == id).with_context(|| {
        let have: Vec<&str> = plugins.saes.iter().map(|s| s.id()).collect();
        format!("no SAE architecture plugin `{id}` is loaded (loaded: {have:?}); build them with `cargo build --release --workspace`")
    })
}

/// Runs (or resumes) a sweep into `dir`.
pub fn run_sweep(
    plugins: &PluginSet,
    jobs: &[TrainJob],
    eval_samples: usize,
    dir: &Path,
    observer: &mut dyn SweepObserver,
) -> Result<SweepSummary> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut outcomes = Vec::new();
    for (i, job) in jobs.iter().enumerate() {
        let sae = find_sae(plugins, &job.architecture)?;
        let folder = dir.join(&job.id);
        let record = serde_json::to_value(job)?;
        let model = ToyModel::new(&job.toy, job.toy_seed)?;
        let finished = if folder.join(saelens::CFG_FILE).is_file() {
            let f = saelens::load(&folder)?;
            let stored = f.cfg.pointer("/metadata/rdpbench_job").cloned();
            if stored.as_ref() != Some(&record) {
                bail!(
                    "{} holds an SAE trained with a different job record than this sweep's `{}`; use another output folder or delete it",
                    folder.display(),
                    job.id
                );
            }
            Some(f.weights)
        } else {
            None
        };
        observer.job_started(i, jobs.len(), job, finished.is_some());
        let (weights, trained) = match finished {
            Some(w) => (w, false),
            None => {
                let partial = dir.join(PARTIAL_DIR).join(&job.id);
                let mut w = train_on_toy(
                    sae,
                    &model,
                    &with_checkpoints(&job.hyperparameters, &partial),
                    job.seed,
                    observer.training_observer(),
                )
                .with_context(|| format!("training `{}`", job.id))?;
                let mut cfg: serde_json::Value = serde_json::from_str(&w.cfg_json)?;
                if let Some(meta) = cfg.get_mut("metadata").and_then(|m| m.as_object_mut()) {
                    meta.insert("rdpbench_job".into(), record.clone());
                }
                w.cfg_json = serde_json::to_string_pretty(&cfg)?;
                saelens::save(&folder, &w)?;
                if partial.exists() {
                    std::fs::remove_dir_all(&partial).with_context(|| {
                        format!("cannot remove the checkpoints in {}", partial.display())
                    })?;
                }
                (w, true)
            }
        };
        let eval = evaluate_on_toy(sae, &weights, &model, eval_samples)
            .with_context(|| format!("evaluating `{}`", job.id))?;
        std::fs::write(
            folder.join("eval.json"),
            serde_json::to_string_pretty(&eval)?,
        )?;
        outcomes.push(JobOutcome {
            job: job.clone(),
            folder,
            trained,
            eval,
        });
    }
    let summary = SweepSummary {
        schema_version: 1,
        rdpbench_version: crate::VERSION.to_string(),
        jobs: outcomes,
    };
    std::fs::write(
        dir.join("train.json"),
        serde_json::to_string_pretty(&summary)?,
    )?;
    std::fs::write(dir.join("train.csv"), csv(&summary))?;
    Ok(summary)
}

fn opt(v: Option<f64>) -> String {
    v.map_or(String::new(), |v| format!("{v}"))
}

/// One row per job.
pub fn csv(s: &SweepSummary) -> String {
    let mut out = String::from(
        "id,architecture,d_sae,sparsity,seed,trained,l0,mse,explained_variance,mcc,p_gt,n_live\n",
    );
    for o in &s.jobs {
        let (key, v) = o.job.sparsity.json();
        out.push_str(&format!(
            "{},{},{},{key}={v},{},{},{},{},{},{},{},{}\n",
            o.job.id,
            o.job.architecture,
            o.job.d_sae,
            o.job.seed,
            o.trained,
            opt(o.eval.l0),
            opt(o.eval.mse),
            opt(o.eval.explained_variance),
            opt(o.eval.mcc),
            opt(o.eval.p_gt),
            o.eval.n_live
        ));
    }
    out
}

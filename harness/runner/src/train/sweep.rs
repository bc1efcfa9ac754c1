//! Sweeps: one SAELens folder per job under the sweep folder, written
//! atomically; a job whose folder exists with the same job record in its
//! `cfg.json` metadata is finished and is never retrained (resume).
//!
//! Within one job, the SDK writes a resume checkpoint every
//! `checkpoint_every` steps (default [`DEFAULT_CHECKPOINT_EVERY`]; set it in
//! `[train.hyperparameters]`, 0 disables) to `<sweep>/.partial/<job id>/`, so an
//! interrupted long training continues mid-way and ends bit-identical to an
//! uninterrupted one; the folder is removed once the job's SAE is saved.

use super::{
    JobOutcome, Sparsity, SweepSummary, TRAIN_SCHEMA_VERSION, TrainJob, TrainSettings,
    evaluate_on_toy, train_on_toy, training_config,
};
use crate::progress::{Progress, TrainSteps, UnitKind};
use anyhow::{Context, Result, bail};
use rdpbench_core::toy::{ToyConfig, ToyModel};
use rdpbench_plugin_host::PluginSet;
use rdpbench_plugin_host::saelens;
use rdpbench_plugin_host::saelens::EVAL_FILE;
use rdpbench_schema::exit::usage_error;
use std::path::Path;

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
/// The jobs of a sweep, in a fixed order: architecture, width, sparsity,
/// seed. `knob_of(arch)` names the architecture's sparsity knob (its
/// plugin's declaration: [`PluginSet::sparsity_knob`]); the values come from
/// `settings.sparsity[arch]`.
pub fn jobs(
    settings: &TrainSettings,
    toy: &ToyConfig,
    knob_of: &dyn Fn(&str) -> Result<String>,
) -> Result<Vec<TrainJob>> {
    settings.validate()?;
    let mut out = Vec::new();
    for arch in &settings.architectures {
        let knob = knob_of(arch)?;
        let sparsities: Vec<Sparsity> = settings.sparsity[arch]
            .iter()
            .map(|&v| Sparsity::new(knob.clone(), v))
            .collect();
        for &w in &settings.widths {
            for s in &sparsities {
                for &seed in &settings.seeds {
                    let mut h = serde_json::Map::new();
                    h.extend(settings.hyperparameters.clone());
                    h.insert("d_sae".into(), w.into());
                    h.insert("steps".into(), settings.steps.into());
                    h.insert("batch_size".into(), settings.batch_size.into());
                    h.insert("lr".into(), settings.lr.into());
                    h.insert("eval_every".into(), settings.eval_every.into());
                    h.insert("seed".into(), seed.into());
                    h.insert(s.knob.clone(), s.value.into());
                    out.push(TrainJob {
                        id: format!("{arch}-w{w}-{}-s{seed}", s.label()),
                        architecture: arch.clone(),
                        d_sae: w,
                        sparsity: s.clone(),
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

/// Checks every job before any is trained: its hyperparameters (merged
/// over its architecture's defaults) against the plugin's declared types,
/// ranges and bounds (e.g. TopK's `k` at most `d_sae`), and its memory
/// lower bound ([`crate::memory::train_estimate`]) against `max_memory`
/// or the machine. Errors name the job and the field.
pub fn validate_jobs(
    plugins: &PluginSet,
    jobs: &[TrainJob],
    batch_size: usize,
    max_memory: Option<u64>,
) -> Result<()> {
    for job in jobs {
        let sae = plugins.sae(&job.architecture)?;
        training_config(sae.cached_spec(), &job.hyperparameters)
            .with_context(|| format!("training job `{}`", job.id))?;
    }
    if let Some(widest) = jobs.iter().max_by_key(|j| j.d_sae) {
        crate::memory::ensure_fits(
            &format!("training `{}`", widest.id),
            &crate::memory::train_estimate(widest.toy.d, widest.d_sae, batch_size),
            max_memory,
        )?;
    }
    Ok(())
}

/// The weights of a job already finished in `folder` (resume), or `None`
/// when the folder holds no SAE. A folder whose job record (`cfg.json`
/// `metadata.<record_key>`) differs from `record` is refused: it was trained
/// by another configuration, and reusing it would silently mix the two.
pub fn finished_job(
    folder: &Path,
    plugins: &PluginSet,
    record_key: &str,
    record: &serde_json::Value,
    job_id: &str,
) -> Result<Option<rdpbench_sdk::SaeWeights>> {
    if !folder.join(saelens::CFG_FILE).is_file() {
        return Ok(None);
    }
    let f = saelens::load(folder, plugins)?;
    let stored = f.cfg.get("metadata").and_then(|m| m.get(record_key));
    if stored != Some(record) {
        bail!(
            "{} holds an SAE trained with a different job record ({record_key}: cache, split, hyperparameters) than this sweep's `{job_id}`; use another results folder or delete it",
            folder.display()
        );
    }
    Ok(Some(f.weights))
}

/// Runs (or resumes) a sweep into `dir`.
pub fn run_sweep(
    plugins: &PluginSet,
    jobs: &[TrainJob],
    eval_samples: usize,
    dir: &Path,
    observer: &mut dyn Progress,
) -> Result<SweepSummary> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    // Every job's configuration is checked before the first is trained, so
    // a bad value fails the sweep at once, naming the job and the field.
    for job in jobs {
        let sae = plugins.sae(&job.architecture).map_err(usage_error)?;
        training_config(sae.cached_spec(), &job.hyperparameters)
            .map_err(|e| usage_error(e.context(format!("job `{}`", job.id))))?;
    }
    let mut outcomes = Vec::new();
    for (i, job) in jobs.iter().enumerate() {
        outcomes.push(run_job(
            plugins,
            job,
            eval_samples,
            dir,
            (i, jobs.len()),
            observer,
        )?);
    }
    let summary = SweepSummary {
        schema_version: TRAIN_SCHEMA_VERSION,
        rdpbench_version: crate::VERSION.to_string(),
        jobs: outcomes,
    };
    Ok(summary)
}

/// Runs (or resumes) one job of a sweep into `dir/<job id>`: trains it
/// unless a finished folder with the same job record is there, then
/// evaluates it on the toy model and writes its `eval.json`. `at` is the
/// job's (index, total) for the progress observer.
pub fn run_job(
    plugins: &PluginSet,
    job: &TrainJob,
    eval_samples: usize,
    dir: &Path,
    at: (usize, usize),
    observer: &mut dyn Progress,
) -> Result<JobOutcome> {
    let (i, total) = at;
    let sae = plugins.sae(&job.architecture)?;
    let folder = dir.join(&job.id);
    let record = serde_json::to_value(job)?;
    let model = ToyModel::new(&job.toy, job.toy_seed)?;
    let finished = finished_job(&folder, plugins, "rdpbench_job", &record, &job.id)?;
    let kind = if finished.is_some() {
        UnitKind::Reuse
    } else {
        UnitKind::Train
    };
    observer.unit(kind, i, total, &job.id);
    let (weights, trained) = match finished {
        Some(w) => (w, false),
        None => {
            let partial = dir.join(PARTIAL_DIR).join(&job.id);
            let mut w = train_on_toy(
                sae,
                &model,
                &with_checkpoints(&job.hyperparameters, &partial),
                job.seed,
                &mut TrainSteps(&mut *observer),
            )
            .with_context(|| format!("training `{}`", job.id))?;
            let mut cfg: serde_json::Value = serde_json::from_str(&w.cfg_json)?;
            if let Some(meta) = cfg.get_mut("metadata").and_then(|m| m.as_object_mut()) {
                meta.insert("rdpbench_job".into(), record.clone());
            }
            w.cfg_json = serde_json::to_string_pretty(&cfg)?;
            saelens::save(&folder, &w, &sae.cached_spec().saelens)?;
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
    let eval_path = folder.join(EVAL_FILE);
    rdpbench_store::write_atomic(&eval_path, serde_json::to_string_pretty(&eval)?.as_bytes())
        .with_context(|| format!("writing {}", eval_path.display()))?;
    Ok(JobOutcome {
        job: job.clone(),
        folder,
        trained,
        eval,
    })
}

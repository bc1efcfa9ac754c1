//! The train sweep sharded ([`crate::shard`]): `--shard i/n` trains its
//! slice of the job list into the sweep folder itself (each job's SAELens
//! folder is written atomically and belongs to that job alone, so shards
//! never write the same file) and records each job's outcome in the shard
//! folder; [`merge_sweep`] reads the records back, in job order, into the
//! summary the unsharded sweep returns.

use super::sweep::run_job;
use super::{JobOutcome, SweepSummary, TRAIN_SCHEMA_VERSION, TrainJob, training_config};
use crate::progress::Progress;
use crate::shard::{Shard, ShardPlan, plan_hash};
use anyhow::Result;
use rdpbench_plugin_host::PluginSet;
use rdpbench_schema::exit::usage_error;
use std::path::Path;

/// The shard plan of a train sweep in the results folder `root`: its hash
/// covers the whole job list, the evaluation size and the loaded plugins
/// (library paths and SHA-256), under the stage name `stage`.
pub fn sweep_plan(
    root: &Path,
    stage: &str,
    plugins: &PluginSet,
    jobs: &[TrainJob],
    eval_samples: usize,
) -> Result<ShardPlan> {
    let hash = plan_hash(stage, &(jobs, eval_samples, plugins.records()))?;
    ShardPlan::new(
        root,
        stage,
        hash,
        jobs.iter().map(|j| j.id.clone()).collect(),
    )
}

/// Runs `shard`'s slice of the sweep: SAE folders into `dir` (the stage's
/// sweep folder), one record per job into the plan's shard folder. Jobs with
/// a record are skipped. Returns (trained or resumed, skipped).
pub fn run_sweep_shard(
    plugins: &PluginSet,
    plan: &ShardPlan,
    jobs: &[TrainJob],
    eval_samples: usize,
    dir: &Path,
    shard: Shard,
    observer: &mut dyn Progress,
) -> Result<(usize, usize)> {
    std::fs::create_dir_all(dir)?;
    for job in jobs {
        let sae = plugins.sae(&job.architecture).map_err(usage_error)?;
        training_config(sae.cached_spec(), &job.hyperparameters)
            .map_err(|e| usage_error(e.context(format!("job `{}`", job.id))))?;
    }
    plan.run_shard(shard, |i| {
        run_job(
            plugins,
            &jobs[i],
            eval_samples,
            dir,
            (i, jobs.len()),
            observer,
        )
    })
}

/// The outcomes every shard recorded, in job order, each pointing at its
/// folder under `dir` (as the unsharded sweep spells it).
pub fn merged_outcomes(plan: &ShardPlan, dir: &Path) -> Result<Vec<JobOutcome>> {
    Ok(plan
        .collect::<JobOutcome>()?
        .into_iter()
        .map(|r| {
            let mut o = r.result;
            o.folder = dir.join(&o.job.id);
            o
        })
        .collect())
}

/// The sweep summary from every shard's records: what [`super::run_sweep`]
/// returns for the same jobs.
pub fn merge_sweep(plan: &ShardPlan, dir: &Path) -> Result<SweepSummary> {
    Ok(SweepSummary {
        schema_version: TRAIN_SCHEMA_VERSION,
        rdpbench_version: crate::VERSION.to_string(),
        jobs: merged_outcomes(plan, dir)?,
    })
}

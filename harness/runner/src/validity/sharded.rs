//! The validity stage sharded ([`crate::shard`]): one job is one SAE of the
//! population: train it (or resume it) into the sweep folder, build its
//! held-out evaluation case and score every metric on it. A job's record
//! holds its training outcome and its scores; [`merge_validity`] gathers
//! them in population order and summarises exactly as the unsharded
//! [`super::compute_validity`] does.

use super::run::{assemble_validity, score_metric, toy_eval_case, validity_population};
use crate::progress::Progress;
use crate::shard::{Shard, ShardPlan, plan_hash};
use crate::train::{JobOutcome, run_job, training_config};
use crate::work_queue::map_indexed;
use anyhow::{Context, Result, ensure};
use rdpbench_plugin_host::PluginSet;
use rdpbench_schema::config::Config;
use rdpbench_schema::exit::usage_error;
use rdpbench_schema::results::validity::{SaeScore, ValidityRun};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// One SAE of the population, as a shard records it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ValidityJobResult {
    pub outcome: JobOutcome,
    /// Metric ids, in `plugins.metrics` order.
    pub metrics: Vec<String>,
    /// Their scores on this SAE, in the same order.
    pub scores: Vec<SaeScore>,
}

/// The shard plan of the validity stage in `root`: its hash covers the
/// `[validity]` settings, the training jobs, the selected metrics and the
/// loaded plugins (library paths and SHA-256).
pub fn validity_plan(root: &Path, config: &Config, plugins: &PluginSet) -> Result<ShardPlan> {
    let (_, train_jobs) = validity_population(config, plugins)?;
    let metrics: Vec<&str> = plugins.metrics.iter().map(|m| m.id()).collect();
    let hash = plan_hash(
        "validity",
        &(&config.validity, &train_jobs, &metrics, plugins.records()),
    )?;
    ShardPlan::new(
        root,
        "validity",
        hash,
        train_jobs.iter().map(|j| j.id.clone()).collect(),
    )
}

/// Runs `shard`'s slice of the population: each SAE trained (or resumed)
/// into `sweep_dir`, then every metric scored on it (`jobs` metrics at a
/// time; results do not depend on it). Returns (computed, skipped).
pub fn run_validity_shard(
    config: &Config,
    plugins: &PluginSet,
    plan: &ShardPlan,
    sweep_dir: &Path,
    shard: Shard,
    jobs: usize,
    observer: &mut dyn Progress,
) -> Result<(usize, usize)> {
    let settings = &config.validity;
    let (_, train_jobs) = validity_population(config, plugins)?;
    for job in &train_jobs {
        let sae = plugins.sae(&job.architecture).map_err(usage_error)?;
        training_config(sae.cached_spec(), &job.hyperparameters)
            .map_err(|e| usage_error(e.context(format!("job `{}`", job.id))))?;
    }
    std::fs::create_dir_all(sweep_dir)
        .with_context(|| format!("cannot create {}", sweep_dir.display()))?;
    let metrics: Vec<String> = plugins.metrics.iter().map(|m| m.id().to_string()).collect();
    plan.run_shard(shard, |i| {
        let job = &train_jobs[i];
        let outcome = run_job(
            plugins,
            job,
            settings.eval_samples,
            sweep_dir,
            (i, train_jobs.len()),
            observer,
        )?;
        let case = toy_eval_case(plugins, &outcome, settings.eval_samples)?;
        let scores = map_indexed(&plugins.metrics, jobs, |_, m| score_metric(m, &case));
        Ok(ValidityJobResult {
            outcome,
            metrics: metrics.clone(),
            scores,
        })
    })
}

/// The validity run from every shard's records: what
/// [`super::compute_validity`] returns for the same configuration, with
/// each SAE's folder under `sweep_dir`.
pub fn merge_validity(
    config: &Config,
    plugins: &PluginSet,
    plan: &ShardPlan,
    sweep_dir: &Path,
) -> Result<ValidityRun> {
    let (population, _) = validity_population(config, plugins)?;
    let records = plan.collect::<ValidityJobResult>()?;
    let n_metrics = plugins.metrics.len();
    let mut outcomes = Vec::with_capacity(records.len());
    let mut scores: Vec<Vec<SaeScore>> = vec![Vec::with_capacity(records.len()); n_metrics];
    for r in records {
        let mut result = r.result;
        ensure!(
            result.scores.len() == n_metrics,
            "the record of `{}` holds {} score(s) for {} metric(s)",
            r.job_id,
            result.scores.len(),
            n_metrics
        );
        for (m, s) in scores.iter_mut().zip(result.scores) {
            m.push(s);
        }
        result.outcome.folder = sweep_dir.join(&result.outcome.job.id);
        outcomes.push(result.outcome);
    }
    Ok(assemble_validity(
        config,
        plugins,
        &population,
        &outcomes,
        scores,
    ))
}

//! `rdpbench real` sharded ([`crate::shard`]): one job is one real SAE of
//! the `[real]` sweep, in its order: trained (or resumed) into the sweep
//! folder, evaluated on the held-out documents, scored by every metric,
//! and, with `toy_steps > 0`, its toy counterpart (same id) trained into
//! `toy/` and scored too. A job's record holds its `real.json` row, its
//! toy row and every metric's scores on both; [`RealShards::merge`] puts them in
//! row order and computes what spans SAEs (the counts per metric and the
//! Spearman ρ of real against toy rankings) exactly as the unsharded
//! [`super::compute_real`] does.

use super::{
    RealInputs, assemble_real, encode_trained, metric_score, real_metric, run_real_sweep, sae_row,
    toy, toy_row,
};
use crate::progress::Progress;
use crate::shard::{Shard, ShardPlan, plan_hash};
use crate::train::run_job;
use crate::validity::{SaeScore, score_metric, toy_eval_case};
use anyhow::{Context, Result, ensure};
use rdpbench_plugin_host::PluginSet;
use rdpbench_schema::config::Config;
use rdpbench_schema::results::real::{MetricScore, RealSaeRow, ToyRow};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// One real SAE, as a shard records it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RealJobResult {
    /// Its `real.json` row (held-out quality with intervals).
    pub row: RealSaeRow,
    /// `false` when its finished folder was reused.
    pub trained: bool,
    /// Per metric of `plugins.metrics`, in order: its score on the held-out
    /// set with a document-bootstrap interval; `None` for an oracle (n/a).
    pub scores: Vec<Option<MetricScore>>,
    /// Its toy counterpart, when `toy_steps > 0`.
    pub toy: Option<ToyJobResult>,
}

/// The toy counterpart of one real SAE, as a shard records it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToyJobResult {
    pub row: ToyRow,
    pub trained: bool,
    /// Per metric, in order: its score on held-out toy rows; `None` for an oracle.
    pub scores: Vec<Option<SaeScore>>,
}

/// The shard plan of the real stage in `root` for the cache in `cache_dir`:
/// one job per real SAE (ids from [`super::real_jobs`], e.g.
/// `topk-w64-k4-s0`). Its hash covers `[real]` (after the command-line
/// overrides), `[toy]` (the counterparts), the cache folder as given, the
/// real jobs (each with the cache identity: model and shard SHA-256, the
/// split and the activation scale), the selected metrics and the loaded
/// plugins.
fn real_plan(
    root: &Path,
    config: &Config,
    plugins: &PluginSet,
    cache_dir: &Path,
    inputs: &RealInputs,
) -> Result<ShardPlan> {
    let metrics: Vec<&str> = plugins.metrics.iter().map(|m| m.id()).collect();
    let hash = plan_hash(
        "real",
        &(
            &config.real,
            &config.toy,
            cache_dir,
            &inputs.real_jobs,
            &metrics,
            plugins.records(),
        ),
    )?;
    ShardPlan::new(
        root,
        "real",
        hash,
        inputs.real_jobs.iter().map(|j| j.id.clone()).collect(),
    )
}

/// One sharded real run: what its shards and its merge share. Made once
/// per process by [`RealShards::new`], which also makes the shard plan.
pub struct RealShards<'a> {
    pub config: &'a Config,
    pub plugins: &'a PluginSet,
    pub inputs: &'a RealInputs,
    /// The activation cache, as given on the command line.
    pub cache_dir: &'a Path,
    /// The results folder.
    pub out_dir: &'a Path,
    /// Where the SAEs go (`real-saes/`), inside `out_dir`.
    pub sweep_dir: &'a Path,
    /// Jobs and records, under `out_dir/shards/real/`.
    pub plan: ShardPlan,
}

impl std::fmt::Debug for RealShards<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RealShards")
            .field("cache_dir", &self.cache_dir)
            .field("out_dir", &self.out_dir)
            .field("sweep_dir", &self.sweep_dir)
            .field("plan", &self.plan)
            .finish_non_exhaustive()
    }
}

impl<'a> RealShards<'a> {
    /// `sweep_dir` relative to the results folder, as `real.json` names folders.
    fn relative_dir(&self) -> &Path {
        self.sweep_dir
            .strip_prefix(self.out_dir)
            .unwrap_or(self.sweep_dir)
    }

    /// The sharded run of the real stage with results folder `out_dir`
    /// and its plan (what `real_plan` hashes and lists).
    pub fn new(
        config: &'a Config,
        plugins: &'a PluginSet,
        inputs: &'a RealInputs,
        cache_dir: &'a Path,
        out_dir: &'a Path,
        sweep_dir: &'a Path,
    ) -> Result<Self> {
        let plan = real_plan(out_dir, config, plugins, cache_dir, inputs)?;
        Ok(Self {
            config,
            plugins,
            inputs,
            cache_dir,
            out_dir,
            sweep_dir,
            plan,
        })
    }

    /// Runs `shard`'s slice of the real SAEs, one after the other (see the
    /// module docs), each real SAE into `sweep_dir/<id>` and its toy
    /// counterpart into `sweep_dir/toy/<id>`. Returns (computed, skipped).
    pub fn run_shard(&self, shard: Shard, observer: &mut dyn Progress) -> Result<(usize, usize)> {
        let settings = &self.config.real;
        let relative_dir = self.relative_dir();
        let n = self.inputs.real_jobs.len();
        let toy_jobs = if settings.toy_steps > 0 {
            let jobs = toy::toy_jobs(self.plugins, settings, &self.config.toy)?;
            let ids = |v: Vec<&String>| v.into_iter().cloned().collect::<Vec<_>>();
            ensure!(
                ids(jobs.iter().map(|j| &j.id).collect())
                    == ids(self.inputs.real_jobs.iter().map(|j| &j.id).collect()),
                "the toy counterparts do not pair one to one, in order, with the real SAEs"
            );
            jobs
        } else {
            Vec::new()
        };
        let toy_dir = self.sweep_dir.join("toy");
        std::fs::create_dir_all(&toy_dir)
            .with_context(|| format!("cannot create {}", toy_dir.display()))?;
        self.plan.run_shard(shard, |i| {
            let trained = run_real_sweep(
                self.plugins,
                &self.inputs.real_jobs[i..=i],
                &self.inputs.set,
                self.cache_dir,
                self.sweep_dir,
                observer,
            )?
            .pop()
            .context("the real sweep of one job returned no SAE")?;
            let enc = encode_trained(self.plugins, &trained, &self.inputs.held)?;
            let row = sae_row(
                &trained,
                &enc,
                &self.inputs.held,
                &self.inputs.resamples,
                settings.confidence,
                relative_dir,
            );
            let scores = self
                .plugins
                .metrics
                .iter()
                .map(|m| {
                    (!m.cached_spec().is_oracle()).then(|| {
                        metric_score(
                            m,
                            &enc,
                            &self.inputs.held,
                            &self.inputs.resamples,
                            settings.confidence,
                        )
                    })
                })
                .collect();
            drop(enc);
            let toy = match toy_jobs.get(i) {
                None => None,
                Some(job) => {
                    let outcome = run_job(
                        self.plugins,
                        job,
                        settings.toy_eval_samples,
                        &toy_dir,
                        (i, n),
                        observer,
                    )?;
                    let case = toy_eval_case(self.plugins, &outcome, settings.toy_eval_samples)?;
                    Some(ToyJobResult {
                        row: toy_row(&outcome),
                        trained: outcome.trained,
                        scores: self
                            .plugins
                            .metrics
                            .iter()
                            .map(|m| (!m.cached_spec().is_oracle()).then(|| score_metric(m, &case)))
                            .collect(),
                    })
                }
            };
            Ok(RealJobResult {
                row,
                trained: trained.trained,
                scores,
                toy,
            })
        })
    }

    /// The real run from every shard's records: what [`super::compute_real`]
    /// returns for the same configuration, cache and plugins, with each
    /// SAE's folder under `sweep_dir`. Returns the run and which real SAEs
    /// and toy counterparts were trained (not reused) by the shards.
    pub fn merge(&self) -> Result<super::RealOutcome> {
        let settings = &self.config.real;
        let relative_dir = self.relative_dir();
        let records = self.plan.collect::<RealJobResult>()?;
        let n_metrics = self.plugins.metrics.len();
        let (mut saes, mut trained) = (Vec::new(), Vec::new());
        let (mut toy_rows, mut toy_trained) = (Vec::new(), Vec::new());
        let mut scores: Vec<Vec<MetricScore>> = vec![Vec::new(); n_metrics];
        let mut toy_scores: Vec<Vec<SaeScore>> = vec![Vec::new(); n_metrics];
        for r in records {
            let mut result = r.result;
            ensure!(
                result.scores.len() == n_metrics
                    && result
                        .toy
                        .as_ref()
                        .is_none_or(|t| t.scores.len() == n_metrics),
                "the record of `{}` holds scores for another number of metrics than {n_metrics}",
                r.job_id
            );
            ensure!(
                result.toy.is_some() == (settings.toy_steps > 0),
                "the record of `{}` {} a toy counterpart, where [real].toy_steps = {}",
                r.job_id,
                if result.toy.is_some() { "has" } else { "lacks" },
                settings.toy_steps
            );
            for (all, s) in scores.iter_mut().zip(result.scores) {
                all.extend(s);
            }
            if let Some(t) = result.toy {
                for (all, s) in toy_scores.iter_mut().zip(t.scores) {
                    all.extend(s);
                }
                toy_rows.push(t.row);
                toy_trained.push(t.trained);
            }
            result.row.folder = relative_dir.join(&result.row.id);
            saes.push(result.row);
            trained.push(result.trained);
        }
        let metrics = self
            .plugins
            .metrics
            .iter()
            .zip(scores.into_iter().zip(toy_scores))
            .map(|(m, (s, t))| real_metric(m, s, t, &toy_rows, settings))
            .collect();
        Ok(super::RealOutcome {
            run: assemble_real(
                self.config,
                self.plugins,
                self.inputs.cache_summary(self.cache_dir),
                saes,
                toy_rows,
                metrics,
            ),
            trained,
            toy_trained,
        })
    }
}

//! `rdpbench check` sharded ([`crate::shard`]): one job is one metric
//! plugin, in the order the unsharded check reports them
//! (`plugins.metrics`). A job's record is that metric's whole `check.json`
//! entry (every verdict over every seed, the summary, its smallest failing
//! cases) and whether its library was left blocked by a hung call.
//! [`merge_check`] puts the entries in metric order and adds what belongs
//! to the run, not to a metric (settings, the check toy, the ground-truth
//! ladders, plugin records and load errors), exactly as the unsharded
//! [`super::run_check_with`] does; the case files under `cases/` are written
//! from the merged entries by the caller, as after an unsharded check.

use super::{Isolation, assemble_check, check_metric, notify, shrink_metric, shrinks};
use crate::progress::Progress;
use crate::shard::{Shard, ShardPlan, indexed_job_id, plan_hash};
use anyhow::{Context, Result, ensure};
use rdpbench_core::conditions::{CheckSettings, Workbench};
use rdpbench_core::toy::ToyConfig;
use rdpbench_plugin_host::PluginSet;
use rdpbench_schema::exit::usage_error;
use rdpbench_schema::results::check::{CheckRun, MetricResult};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// One metric, as a shard records it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CheckJobResult {
    /// Its `check.json` entry, smallest failing cases included (shrunk
    /// whenever the unsharded check would shrink, see `library_blocked`).
    pub metric: MetricResult,
    /// Its library was blocked by a hung call once the metric's conditions
    /// were done (by this metric, or by a sibling checked before it in the
    /// same process). The unsharded check shrinks no metric of a library
    /// that any of its metrics left blocked, so the merge drops the minimal
    /// cases of every metric of a library with this flag on any record.
    pub library_blocked: bool,
}

/// The shard plan of a check in the results folder `root`: one job per
/// metric of `plugins`, in order (ids `<index>-<metric id>`). Its hash
/// covers the `[check]` settings and `[toy]` as the check runs them (after
/// the command-line overrides), the metric ids, the loaded plugins (library
/// paths, SHA-256, SDK versions) and their load errors (both go into
/// `check.json`), the per-call time limit (it decides hang verdicts) and
/// whether each metric runs in a child process (`--isolate`, which checks
/// without shrinking).
pub fn check_plan(
    root: &Path,
    plugins: &PluginSet,
    toy: &ToyConfig,
    settings: &CheckSettings,
    isolation: &Isolation,
) -> Result<ShardPlan> {
    let metrics: Vec<&str> = plugins.metrics.iter().map(|m| m.id()).collect();
    let call_limit_secs = plugins.call_limits.call.map(|d| d.as_secs_f64());
    let process_isolation = matches!(isolation, Isolation::Process { .. });
    let hash = plan_hash(
        "check",
        &(
            settings,
            toy,
            &metrics,
            plugins.records(),
            &plugins.errors,
            call_limit_secs,
            process_isolation,
        ),
    )?;
    ShardPlan::new(
        root,
        "check",
        hash,
        metrics
            .iter()
            .enumerate()
            .map(|(i, id)| indexed_job_id(i, id))
            .collect(),
    )
}

/// Runs `shard`'s slice of the metrics, one after the other: each through
/// every condition under `isolation`, its failed conditions shrunk as the
/// unsharded check would, and its entry recorded. The toy workbench is
/// built once, and only when the slice has a metric without a record.
/// Returns (checked, skipped).
pub fn run_check_shard(
    plugins: &PluginSet,
    toy: &ToyConfig,
    settings: &CheckSettings,
    isolation: &Isolation,
    plan: &ShardPlan,
    shard: Shard,
    observer: &mut dyn Progress,
) -> Result<(usize, usize)> {
    ensure!(
        plan.job_ids.len() == plugins.metrics.len(),
        "the check plan has {} job(s) for {} metric(s)",
        plan.job_ids.len(),
        plugins.metrics.len()
    );
    let observer = Mutex::new(observer);
    let mut bench: Option<Arc<Workbench>> = None;
    plan.run_shard(shard, |i| {
        let bench = match &bench {
            Some(b) => Arc::clone(b),
            None => {
                notify(&observer, |o| {
                    o.phase("building toy models and oracle ladders")
                });
                let built = Workbench::build(toy, settings).map_err(|e| {
                    usage_error(e.context("cannot build the toy workbench from [toy]/[check]"))
                })?;
                notify(&observer, |o| o.phase("check"));
                Arc::clone(bench.insert(Arc::new(built)))
            }
        };
        let m = &plugins.metrics[i];
        let mut metric = check_metric(plugins, i, &bench, toy, settings, isolation, &observer);
        let library_blocked = m.library().gate().blocked().is_some();
        if shrinks(settings, isolation) {
            metric.minimal_cases = shrink_metric(m, &metric, &bench.toy, settings);
        }
        Ok(CheckJobResult {
            metric,
            library_blocked,
        })
    })
}

/// The check run from every shard's records: what
/// [`super::run_check_with`] returns for the same plugins, toy, settings
/// and isolation. Rebuilds the toy workbench for the run's check toy and
/// ground-truth ladders (no metric is called).
pub fn merge_check(
    plugins: &PluginSet,
    toy: &ToyConfig,
    settings: &CheckSettings,
    plan: &ShardPlan,
) -> Result<CheckRun> {
    let records = plan.collect::<CheckJobResult>()?;
    let blocked: BTreeSet<PathBuf> = records
        .iter()
        .filter(|r| r.result.library_blocked)
        .map(|r| r.result.metric.library.clone())
        .collect();
    let mut metrics = Vec::with_capacity(records.len());
    for (r, m) in records.into_iter().zip(&plugins.metrics) {
        let mut metric = r.result.metric;
        ensure!(
            metric.report.spec.id == m.id(),
            "the record of `{}` is of metric `{}`, where this run's metric {} is `{}`",
            r.job_id,
            metric.report.spec.id,
            r.job_index,
            m.id()
        );
        if blocked.contains(&metric.library) {
            metric.minimal_cases.clear();
        }
        metrics.push(metric);
    }
    let bench = Workbench::build(toy, settings)
        .map_err(|e| usage_error(e.context("cannot build the toy workbench from [toy]/[check]")))
        .context("the merge rebuilds the check toy and its ground-truth ladders")?;
    Ok(assemble_check(plugins, settings, &bench, metrics))
}

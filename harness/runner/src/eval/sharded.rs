//! `rdpbench eval` sharded ([`crate::shard`]): one job is one SAE folder of
//! the request, in its order. A job's record is that SAE's whole entry of
//! `eval.json` (core numbers, honoured cfg, every metric plugin's value and
//! interval) without the check verdicts, which label metric columns, not
//! SAEs: [`merge_eval`] adds them from the `check.json` the merge reads,
//! exactly as the unsharded [`super::compute_eval`] does from its own.

use super::{EvalRequest, Prepared, activations_source, assemble_eval, eval_sae};
use crate::progress::Progress;
use crate::shard::{Shard, ShardPlan, indexed_job_id, plan_hash};
use anyhow::{Result, ensure};
use rdpbench_plugin_host::PluginSet;
use rdpbench_schema::results::CheckRun;
use rdpbench_schema::results::eval::{EvalRun, EvalSae};
use std::path::Path;

/// The job id of SAE `index` at `dir`: [`indexed_job_id`] of the folder's
/// name (`sae` when it has none), e.g. `0001-jumprelu`.
fn job_id(index: usize, dir: &Path) -> String {
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "sae".into());
    indexed_job_id(index, &name)
}

/// The shard plan of an evaluation in the results folder `root`: one job
/// per SAE folder of `req`, in order. Its hash covers every field of `req`
/// (SAE paths as given, activations path, key, labels path, settings,
/// chunk size), the activations' format, dtype and shape `[N, d_in]`, the
/// selected metric ids and the loaded plugins (library paths and SHA-256).
/// The files' contents are not hashed: a shard and the merge must read the
/// same files.
pub fn eval_plan(root: &Path, req: &EvalRequest, plugins: &PluginSet) -> Result<ShardPlan> {
    let source = activations_source(req)?;
    let saes: Vec<String> = req.saes.iter().map(|p| p.display().to_string()).collect();
    let metrics: Vec<&str> = plugins.metrics.iter().map(|m| m.id()).collect();
    let hash = plan_hash(
        "eval",
        &(
            &saes,
            &source,
            &req.labels,
            &req.settings,
            req.chunk_rows,
            &metrics,
            plugins.records(),
        ),
    )?;
    ShardPlan::new(
        root,
        "eval",
        hash,
        req.saes
            .iter()
            .enumerate()
            .map(|(i, p)| job_id(i, p))
            .collect(),
    )
}

/// Runs `shard`'s slice of the SAEs: each evaluated and its entry recorded
/// (without check verdicts); SAEs with a record are skipped, their
/// folders not even opened. Returns (evaluated, skipped).
pub fn run_eval_shard(
    plugins: &PluginSet,
    plan: &ShardPlan,
    req: &EvalRequest,
    shard: Shard,
    progress: &mut dyn Progress,
) -> Result<(usize, usize)> {
    let mut prepared = Prepared::open(req)?;
    plan.run_shard(shard, |i| {
        eval_sae(plugins, req, &mut prepared, i, progress)
    })
}

/// The evaluation from every shard's records, in SAE order, each metric
/// column labelled from `check`: what [`super::compute_eval`] returns for
/// the same request and `check`.
pub fn merge_eval(
    plan: &ShardPlan,
    req: &EvalRequest,
    check: Option<&CheckRun>,
) -> Result<EvalRun> {
    let source = activations_source(req)?;
    let records = plan.collect::<EvalSae>()?;
    let mut saes = Vec::with_capacity(records.len());
    for (r, dir) in records.into_iter().zip(&req.saes) {
        let sae = r.result;
        ensure!(
            sae.path == dir.display().to_string(),
            "the record of `{}` is of {}, where this run's SAE {} is {}",
            r.job_id,
            sae.path,
            r.job_index,
            dir.display()
        );
        saes.push(sae);
    }
    Ok(assemble_eval(req, source, saes, check))
}

#[cfg(test)]
mod tests {
    use super::job_id;
    use std::path::Path;

    #[test]
    fn job_ids_are_file_names_in_order_and_unique_for_one_folder_name() {
        assert_eq!(job_id(0, Path::new("a/topk")), "0000-topk");
        assert_eq!(job_id(12, Path::new("/x/my sae:v2/")), "0012-my_sae_v2");
        assert_ne!(
            job_id(1, Path::new("a/topk")),
            job_id(2, Path::new("b/topk"))
        );
        assert_eq!(job_id(3, Path::new("/")), "0003-sae");
    }
}

//! [`run_validity`]: train (or resume) the population, score every metric on
//! every SAE, and summarise each metric by ρ with `P_gt` and discriminability.

use super::discriminability::discriminability;
use super::population::{PopulationJob, population_jobs};
use super::spearman::spearman_with_ci;
use crate::progress::{Progress, UnitKind};
use crate::train::{EVAL_DRAW, JobOutcome, TrainJob, matrix, run_sweep};
use crate::work_queue::map_indexed;
use anyhow::{Context, Result};
use rdpbench_core::eval::evaluate;
use rdpbench_core::toy::{EvalCase, ToyModel};
use rdpbench_plugin_host::saelens;
use rdpbench_plugin_host::{LoadedMetric, PluginSet};
use rdpbench_schema::config::Config;
use rdpbench_schema::results::validity::{
    MetricValidity, PopulationRow, SaeScore, VALIDITY_SCHEMA_VERSION, ValidityRun,
};
use rdpbench_sdk::SaeArchitecture;
use std::path::Path;
use std::sync::Mutex;

/// The held-out evaluation case of one trained SAE: its decoder `[d_sae,
/// d_in]`, encoder `W_enc: [d_in, d_sae]`, codes `[n, d_sae]` on rows
/// `0..n` of toy draw [`EVAL_DRAW`] (the rows `P_gt`, MCC, L0, MSE and EV
/// were computed on), the presences `z` as labels and the true directions
/// (which only oracles read).
pub fn toy_eval_case(plugins: &PluginSet, outcome: &JobOutcome, n: usize) -> Result<EvalCase> {
    let job = &outcome.job;
    let sae = plugins
        .saes
        .iter()
        .find(|s| s.id() == job.architecture)
        .with_context(|| format!("no SAE plugin `{}` is loaded", job.architecture))?;
    let folder = saelens::load(&outcome.folder, plugins)?;
    let model = ToyModel::new(&job.toy, job.toy_seed)?;
    let samples = model.sample(EVAL_DRAW, 0, n);
    let codes = sae.encode(&folder.weights, samples.x.view())?;
    let encoder = match folder.weights.tensor("W_enc") {
        Ok(_) => Some(matrix(&folder.weights, "W_enc")?),
        Err(_) => None,
    };
    let case = EvalCase {
        decoder: matrix(&folder.weights, "W_dec")?,
        encoder,
        activations: samples.x,
        codes,
        labels: samples.z,
        directions: model.directions().clone(),
    };
    case.validate()
        .with_context(|| format!("evaluation case of `{}`", job.id))?;
    Ok(case)
}

/// `metric` on `case`, oriented; undefined results and errors kept as such.
pub fn score_metric(metric: &LoadedMetric, case: &EvalCase) -> SaeScore {
    let spec = metric.cached_spec();
    match evaluate(metric, spec, case) {
        Ok(rdpbench_core::eval::Score::Value { value }) => SaeScore::Value { value },
        Ok(rdpbench_core::eval::Score::Undefined { reason }) => SaeScore::Undefined { reason },
        Err(e) => SaeScore::Error {
            message: format!("{e:#}"),
        },
    }
}

/// One metric's validity from its scores on the population.
fn summarise(
    metric: &LoadedMetric,
    scores: Vec<SaeScore>,
    population: &[PopulationRow],
    settings: &super::ValiditySettings,
) -> MetricValidity {
    let spec = metric.cached_spec();
    let (mut xs, mut ys) = (Vec::new(), Vec::new());
    for (s, row) in scores.iter().zip(population) {
        if let (Some(m), Some(p)) = (s.value(), row.p_gt) {
            xs.push(m);
            ys.push(p);
        }
    }
    let rho = spearman_with_ci(
        &xs,
        &ys,
        settings.bootstrap_resamples,
        settings.confidence,
        settings.seed,
    );
    let n_configs = population
        .iter()
        .map(|r| r.config_index + 1)
        .max()
        .unwrap_or(0);
    let mut groups = vec![Vec::new(); n_configs];
    for (s, row) in scores.iter().zip(population) {
        if let Some(v) = s.value() {
            groups[row.config_index].push(v);
        }
    }
    let count = |f: fn(&SaeScore) -> bool| scores.iter().filter(|s| f(s)).count();
    MetricValidity {
        id: spec.id.clone(),
        version: spec.version.clone(),
        oracle: spec.is_oracle(),
        orientation: spec.orientation,
        inputs: spec.inputs.clone(),
        library: metric.library().path().to_path_buf(),
        sha256: metric.library().sha256().to_string(),
        n_defined: count(|s| matches!(s, SaeScore::Value { .. })),
        n_undefined: count(|s| matches!(s, SaeScore::Undefined { .. })),
        n_errors: count(|s| matches!(s, SaeScore::Error { .. })),
        scores,
        rho,
        discriminability: discriminability(&groups),
    }
}

/// The validity stage: trains (or resumes) the population's SAE folders
/// under `sweep_dir`, scores, summarises.
///
/// A metric that errors or says "undefined" on an SAE gets that recorded
/// for it (counted in `n_errors` / `n_undefined`, never turned into a
/// number); ρ and discriminability use the defined scores only. Errors
/// returned: a bad `[validity]` section (tagged as a usage error), a missing
/// SAE plugin, a training failure, an unreadable SAE folder.
pub fn compute_validity(
    config: &Config,
    plugins: &PluginSet,
    sweep_dir: &Path,
    jobs: usize,
    observer: &mut dyn Progress,
) -> Result<ValidityRun> {
    let settings = &config.validity;
    let (population, train_jobs) = validity_population(config, plugins)?;
    observer.phase("train");
    let summary = run_sweep(
        plugins,
        &train_jobs,
        settings.eval_samples,
        sweep_dir,
        observer,
    )?;
    let cases: Vec<EvalCase> = summary
        .jobs
        .iter()
        .map(|o| toy_eval_case(plugins, o, settings.eval_samples))
        .collect::<Result<_>>()?;

    // Metrics are independent: see `map_indexed` (output independent of scheduling).
    let total = plugins.metrics.len();
    observer.phase("metrics");
    let observer = Mutex::new(observer);
    let notify = |f: &mut dyn FnMut(&mut dyn Progress)| {
        let mut guard = observer.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut **guard);
    };
    let scores = map_indexed(&plugins.metrics, jobs, |i, m| {
        notify(&mut |o| o.unit(UnitKind::Metric, i, total, m.id()));
        let scores: Vec<SaeScore> = cases.iter().map(|c| score_metric(m, c)).collect();
        let outcome = format!("{} SAE(s) scored", scores.len());
        notify(&mut |o| o.unit_finished(i, m.id(), &outcome));
        scores
    });
    Ok(assemble_validity(
        config,
        plugins,
        &population,
        &summary.jobs,
        scores,
    ))
}

/// The population's jobs (with their configurations) and its training
/// jobs, checked against the loaded SAE plugins.
pub fn validity_population(
    config: &Config,
    plugins: &PluginSet,
) -> Result<(Vec<PopulationJob>, Vec<TrainJob>)> {
    let settings = &config.validity;
    let population = population_jobs(settings, &|a| plugins.sparsity_knob(a))
        .map_err(rdpbench_schema::exit::usage_error)?;
    for arch in &settings.architectures {
        plugins.sae(arch).context("[validity].architectures")?;
    }
    let train_jobs = population.iter().map(|p| p.job.clone()).collect();
    Ok((population, train_jobs))
}

/// The validity run from the population's training outcomes and every
/// metric's scores (`scores[metric][sae]`, metrics in `plugins.metrics`
/// order, SAEs in population order): the rows, ρ and discriminability.
pub fn assemble_validity(
    config: &Config,
    plugins: &PluginSet,
    population: &[PopulationJob],
    outcomes: &[JobOutcome],
    scores: Vec<Vec<SaeScore>>,
) -> ValidityRun {
    let settings = &config.validity;
    let rows: Vec<PopulationRow> = outcomes
        .iter()
        .zip(population)
        .map(|(o, p): (&JobOutcome, &PopulationJob)| PopulationRow {
            sae_id: o.job.id.clone(),
            architecture: o.job.architecture.clone(),
            sparsity: o.job.sparsity.clone(),
            q_factor: p.q_factor,
            seed: o.job.seed,
            config_index: p.config_index,
            d_sae: o.job.d_sae,
            l0: o.eval.l0,
            explained_variance: o.eval.explained_variance,
            mse: o.eval.mse,
            p_gt: o.eval.p_gt,
            mcc: o.eval.mcc,
            n_live: o.eval.n_live,
            trained: o.trained,
        })
        .collect();
    let metrics: Vec<MetricValidity> = scores
        .into_iter()
        .zip(&plugins.metrics)
        .map(|(s, m)| summarise(m, s, &rows, settings))
        .collect();

    let n_configs = rows.iter().map(|r| r.config_index + 1).max().unwrap_or(0);
    let mut p_gt_groups = vec![Vec::new(); n_configs];
    for r in &rows {
        if let Some(p) = r.p_gt {
            p_gt_groups[r.config_index].push(p);
        }
    }
    ValidityRun {
        schema_version: VALIDITY_SCHEMA_VERSION,
        tool: "rdpbench".into(),
        tool_version: crate::VERSION.into(),
        seed: settings.seed,
        settings: settings.clone(),
        plugins: plugins.records(),
        plugin_errors: plugins.errors.clone(),
        population: rows,
        p_gt_discriminability: discriminability(&p_gt_groups),
        metrics,
    }
}

//! The toy counterpart of a real sweep: the same architectures and sparsity
//! knobs (same job ids), width `width_factor · [toy].d`, trained on the
//! configured `[toy]` model (the embedded default unless overridden) with
//! `toy_steps` steps through the ordinary toy sweep ([`run_sweep`]: SAELens
//! folders, resume). Each toy SAE is scored on held-out toy rows (draw
//! [`EVAL_DRAW`]) by the same metrics, with the presences `z` as labels,
//! and by the ground truth `P_gt`.
//!
//! Why this design: it is the simplest comparison that holds the *SAE
//! configuration* fixed and changes only the data, so "does a proxy order
//! these configurations the same way on both?" is a question about the
//! proxy. Caveat written into the docs: the sparsity knobs are absolute
//! (`k = 32` on a 32-dimensional toy is not the same regime as on a
//! 576-dimensional residual stream), so agreement is evidence about the
//! ordering, not about the values.

use super::settings::RealSettings;
use super::train::sweep_settings;
use crate::plugin::{LoadedMetric, PluginSet};
use crate::saelens;
use crate::train::{EVAL_DRAW, JobOutcome, SweepObserver, SweepSummary, jobs, matrix, run_sweep};
use crate::validity::SaeScore;
use anyhow::{Context, Result};
use rdpbench_core::eval::{Score, evaluate};
use rdpbench_core::toy::{EvalCase, ToyConfig, ToyModel};
use rdpbench_sdk::SaeArchitecture;
use std::path::Path;

/// Trains (or resumes) the toy counterpart sweep into `dir`.
pub fn toy_counterparts(
    plugins: &PluginSet,
    settings: &RealSettings,
    toy: &ToyConfig,
    dir: &Path,
    observer: &mut dyn SweepObserver,
) -> Result<SweepSummary> {
    let ts = sweep_settings(settings, toy.d, settings.toy_steps);
    let jobs = jobs(&ts, toy).map_err(|e| e.context("[real] toy counterparts"))?;
    run_sweep(plugins, &jobs, settings.toy_eval_samples, dir, observer)
}

/// The held-out toy case of one counterpart SAE (rows `0..n` of draw
/// [`EVAL_DRAW`], the rows its `P_gt` was computed on).
pub fn toy_case(plugins: &PluginSet, outcome: &JobOutcome, n: usize) -> Result<EvalCase> {
    let job = &outcome.job;
    let sae = plugins
        .saes
        .iter()
        .find(|s| s.id() == job.architecture)
        .with_context(|| format!("no SAE plugin `{}` is loaded", job.architecture))?;
    let folder = saelens::load(&outcome.folder)?;
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
        .with_context(|| format!("toy evaluation case of `{}`", job.id))?;
    Ok(case)
}

/// `metric` on a toy case (oriented; undefined and errors kept as such).
pub fn toy_score(metric: &LoadedMetric, case: &EvalCase) -> SaeScore {
    match evaluate(metric, metric.cached_spec(), case) {
        Ok(Score::Value { value }) => SaeScore::Value { value },
        Ok(Score::Undefined { reason }) => SaeScore::Undefined { reason },
        Err(e) => SaeScore::Error {
            message: format!("{e:#}"),
        },
    }
}

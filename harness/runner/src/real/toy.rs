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

use super::train::sweep_settings;
use crate::progress::Progress;
use crate::train::{SweepSummary, TrainJob, jobs, run_sweep};
use anyhow::Result;
use rdpbench_core::toy::ToyConfig;
use rdpbench_plugin_host::PluginSet;
use rdpbench_schema::settings::RealSettings;
use std::path::Path;

/// The toy counterpart jobs, in the order (and with the ids) of the real jobs.
pub fn toy_jobs(
    plugins: &PluginSet,
    settings: &RealSettings,
    toy: &ToyConfig,
) -> Result<Vec<TrainJob>> {
    let ts = sweep_settings(settings, toy.d, settings.toy_steps);
    jobs(&ts, toy, &|a| plugins.sparsity_knob(a)).map_err(|e| e.context("[real] toy counterparts"))
}

/// Trains (or resumes) the toy counterpart sweep into `dir`.
pub fn toy_counterparts(
    plugins: &PluginSet,
    settings: &RealSettings,
    toy: &ToyConfig,
    dir: &Path,
    observer: &mut dyn Progress,
) -> Result<SweepSummary> {
    let jobs = toy_jobs(plugins, settings, toy)?;
    run_sweep(plugins, &jobs, settings.toy_eval_samples, dir, observer)
}

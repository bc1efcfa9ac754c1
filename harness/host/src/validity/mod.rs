//! Metric validity over a population of trained toy SAEs (CONDITIONS.md §4,
//! end): does a metric rank real, trained SAEs the way the ground truth does?
//!
//! The population is `[validity]`: architectures × sparsity levels ×
//! co-occurrence levels × seeds, each SAE trained by its architecture plugin
//! through the training sweep ([`crate::train::run_sweep`]: SAELens folders,
//! resume — a finished SAE is never retrained). Every loaded metric is
//! evaluated on each SAE's codes on held-out toy rows (draw
//! [`crate::train::EVAL_DRAW`]) through the same path as the conditions
//! ([`rdpbench_core::eval::evaluate`]: only declared inputs, oriented so
//! that higher = more polysemantic, "undefined" kept as such). Per metric:
//!
//! - **ρ**: Spearman's rank correlation (average ranks for ties;
//!   [`spearman`]) between the oriented score and `P_gt` over the SAEs where
//!   both are defined, with a seeded percentile-bootstrap interval over SAEs
//!   ([`spearman_with_ci`]). Undefined with fewer than 3 such SAEs or when
//!   either side is constant.
//! - **Discriminability**: the one-way ANOVA F ratio of configurations
//!   (architecture × sparsity × co-occurrence level) over reseed noise
//!   (the seeds of one configuration); definition in [`discriminability`].
//!
//! Results: `validity.json` ([`ValidityRun`], with [`ValidityRun::load`]),
//! `validity.csv` and `validity.md` beside `check.json`.

mod discriminability;
pub mod export;
mod population;
mod results;
mod run;
mod settings;
mod spearman;

pub use discriminability::{Discriminability, discriminability};
pub use population::{PopulationJob, population_jobs};
pub use results::{
    MetricValidity, PopulationRow, SaeScore, VALIDITY_FILE, VALIDITY_SCHEMA_VERSION, ValidityRun,
};
pub use run::{
    Silent, ValidityObserver, compute_validity, run_validity, score_metric, toy_eval_case,
};
pub use settings::ValiditySettings;
pub use spearman::{RhoEstimate, average_ranks, spearman, spearman_with_ci};

use anyhow::{Context, Result};
use std::path::{Path, PathBuf};

/// Writes `validity.json`, `validity.csv` and `validity.md` into `out_dir`;
/// returns the paths written.
pub fn write_results(run: &ValidityRun, out_dir: &Path) -> Result<Vec<PathBuf>> {
    std::fs::create_dir_all(out_dir)
        .with_context(|| format!("cannot create {}", out_dir.display()))?;
    let mut written = Vec::new();
    for e in export::validity_exporters() {
        let path = out_dir.join(e.file_name());
        std::fs::write(&path, e.render(run)?)
            .with_context(|| format!("cannot write {}", path.display()))?;
        written.push(path);
    }
    Ok(written)
}

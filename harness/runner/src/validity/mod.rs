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
mod population;
mod run;
mod sharded;
mod spearman;

pub use discriminability::discriminability;
pub use population::{PopulationJob, population_jobs};
pub use rdpbench_schema::results::validity::{
    Discriminability, MetricValidity, PopulationRow, RhoEstimate, SaeScore, VALIDITY_FILE,
    VALIDITY_SCHEMA_VERSION, ValidityRun,
};
pub use rdpbench_schema::settings::ValiditySettings;
pub use run::{
    assemble_validity, compute_validity, score_metric, toy_eval_case, validity_population,
};
pub use sharded::{ValidityJobResult, merge_validity, run_validity_shard, validity_plan};
pub use spearman::{average_ranks, spearman, spearman_with_ci};

//! Toy data with known ground truth (CONDITIONS.md §1–3).
//!
//! - [`config`]: [`ToyConfig`], the DGP's configuration and its validation.
//! - [`dgp`]: [`ToyModel`] (directions `V`, marginals, groups) and
//!   counter-based sampling into [`ToySamples`] `(x, z, c)`.
//! - [`ground_truth`]: `P_gt` by support-restricted non-negative OMP.
//! - [`recovery`]: oracle recovery scores (MCC, MMCS, uniqueness, P/R/F1).
//! - [`case`]: [`EvalCase`], an SAE with codes on evaluation data.
//! - [`oracle`]: the monosemantic oracle `M` and the AND / OR / growing merge
//!   ladders.
//! - [`gauge`]: gauge transforms (permutation, rescaling, rotation, dead
//!   padding, coin-flip and contextual splits).

pub mod case;
pub mod config;
pub mod dgp;
pub mod gauge;
pub mod ground_truth;
pub mod oracle;
pub mod recovery;

pub use case::{EvalCase, max_rel_diff, reconstruct};
pub use config::{
    DirectionsConfig, Group, GroupSpec, GroupsConfig, Magnitudes, Marginals, ParentChild, ToyConfig,
};
pub use dgp::{SampleBatches, ToyModel, ToySamples};
pub use gauge::{DeadPlacement, Gauge};
pub use ground_truth::{
    GroundTruthOptions, GroundTruthReport, LatentGroundTruth, LatentStatus, p_gt,
};
pub use oracle::{
    LadderFamily, LadderReport, Merge, MergeKind, RungSummary, and_l0_saving, ladder,
    ladder_merges, merged_case, monosemantic, n_rungs, verify_ladder,
};
pub use recovery::{LatentRecovery, RecoveryScores, recovery_scores};

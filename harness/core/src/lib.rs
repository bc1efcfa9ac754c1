//! rdpbench's scientific core (spec: `shared/CONDITIONS.md`).
//!
//! - [`toy`]: the ground-truth data-generating process, ground-truth
//!   polysemanticity `P_gt`, oracle recovery scores, oracle SAEs (monosemantic
//!   and merge ladders) and gauge transforms.
//! - [`conditions`]: the necessary conditions C1-C11 as independent units.
//! - [`shrink`]: the smallest case on which a metric still fails a condition.
//! - [`game`]: how far a metric can be gamed (edits that improve it while
//!   `P_gt` does not fall).
//! - [`testing`]: one-call checks for a plugin's own `cargo test`.
#![forbid(unsafe_code)]

pub mod conditions;
pub mod eval;
pub mod game;
pub mod linalg;
pub mod planted;
pub mod rng;
pub mod shrink;
pub mod testing;
pub mod toy;

//! Known features planted into real activations (issue #22): ground truth
//! on a real distribution.
//!
//! A planted dataset is, row by row, `x'_t = x_t + s · (x^toy_t B)`, that is
//! `x' = x_real + s · Σ_i z_i c_i v_i` with `v_i = u_i B`, where
//! - `x_t ∈ R^d` is a real activation row (the *background*, [`background`]),
//! - `x^toy_t = Σ_i z_ti c_ti u_i ∈ R^m` is a noiseless toy row: the toy DGP
//!   (marginals, co-occurrence groups at `q`, hierarchy, magnitudes) draws
//!   `z` and `c`, and its directions `u_i ∈ R^m` are the toy's own,
//! - `B: [m, d]` has orthonormal rows spanning the *planting subspace*
//!   ([`subspace`]): a uniformly random `m`-frame, or the top or bottom `m`
//!   principal directions of the background's covariance,
//! - `s = magnitude · E‖x_real‖` ([`Planting`]), so a planted concept with
//!   `c = 1` has `magnitude` times the mean background norm.
//!
//! The planted directions are `v_i = u_i B` (unit norm, and orthonormal when
//! the toy's are, since `B Bᵀ = I_m`). `B` is an isometry, so every toy
//! construction (the oracle `M`, merge ladders) carries over exactly: an
//! [`crate::toy::EvalCase`] of the toy becomes a planted case by
//! [`Planting::plant_case`].
//!
//! Ground truth ([`restricted`]): `P_gt` of CONDITIONS.md §2 over the
//! planted directions only, and a live latent counts toward it only when
//! the planted atoms explain most of its decoder row (relative residual at
//! most `background_residual`, default `1/√2`: more than half of the row's
//! squared norm); every other live latent *explains the background* and is
//! excluded from `P_gt`, counted separately with its firing share.

pub mod background;
pub mod plant;
pub mod restricted;
pub mod subspace;

pub use background::{BackgroundStats, synthetic_background};
pub use plant::{BackgroundCode, Planting};
pub use restricted::{DEFAULT_BACKGROUND_RESIDUAL, PlantedGroundTruth, planted_p_gt};
pub use subspace::{PlantingSubspace, SubspaceBasis, planting_basis};

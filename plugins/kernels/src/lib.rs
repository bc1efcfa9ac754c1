//! Compute kernels shared by rdpbench's metric plugins.
//!
//! Five pieces, each in its own module:
//! - [`parallel`]: run a function over fixed, thread-count-independent chunks of
//!   an index range on scoped threads, returning results in chunk order, so a
//!   caller that merges them in that order gets bit-identical output whatever
//!   the number of threads (condition C9: deterministic reductions, no
//!   work-stealing order).
//! - [`latent_major`]: the transpose (CSC) of a CSR code matrix, tokens per
//!   latent in increasing token order, built in `O(nnz + d_sae)`.
//! - [`simd`]: `f64` accumulation of `f32` rows with runtime CPU dispatch
//!   (AVX2+FMA when present, scalar otherwise), in safe code via `pulp`.
//! - [`abs_max`]: largest `|x|` of `f32` rows, fused with per-column maxima,
//!   and the indices at or above thresholds (Gram-matrix row maxima).
//! - [`label_stats`]: per-latent label statistics of codes against concept
//!   labels (firing counts, label marginals, label-major co-firing columns
//!   counted or split among a token's labels, per-latent label tallies), the
//!   shared core of the label-based metrics.
//!
//! No `unsafe` here: it lives only at the plugin ABI.
#![forbid(unsafe_code)]

pub mod abs_max;
pub mod label_stats;
pub mod latent_major;
pub mod parallel;
pub mod simd;

pub use latent_major::{Firing, LatentMajor};
pub use parallel::{map_chunks, threads};

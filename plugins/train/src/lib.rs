//! # rdpbench-train: the SAE training library for architecture plugins
//!
//! An SAE-architecture plugin depends on `rdpbench-sdk` (author API, export
//! macro) and on this crate with the `candle` feature, implements
//! [`Architecture`] (its math only) and exports `CandleSae(MyArch)`.
//! `plugins/sae-template` is a complete, commented example.
//!
//! This crate depends on `rdpbench-api` (the traits) and not on the ABI
//! glue; `rdpbench-sdk` re-exports it as `rdpbench_sdk::train`, so the old
//! paths keep working.
//!
//! - [`distortion`] (always compiled): the pinned definitions of explained
//!   variance and MSE used everywhere in rdpbench.
//! - With the `candle` feature: the [`Architecture`] trait an architecture
//!   plugin implements (its math only), the shared training loop
//!   ([`train`]: AdamW, schedule, unit-norm decoder, dead-latent bookkeeping,
//!   AuxK, held-out reports, checkpoints), shared ops, and [`CandleSae`], which
//!   turns an [`Architecture`] into an exportable [`SaeArchitecture`](rdpbench_api::SaeArchitecture):
//!
//! ```text
//! rdpbench_sdk::export_plugin!(saes: [rdpbench_train::CandleSae(MyArch)]);
//! ```
//!
//! Module graph (no two modules use each other): `trainer` -> `arch`,
//! `adamw`, `resume`, `ops`, `fused`, `sparse_decode`, `sparse_step`;
//! `arch` -> `sparse_step` (its `Selection`); `sparse_step` -> `adamw`;
//! `fused` -> `sparse_decode` -> `cpu` (the kernels' shared helpers);
//! `adamw`, `sparse_step` -> `cpu`.

pub mod distortion;

#[cfg(feature = "candle")]
pub mod adamw;
#[cfg(feature = "candle")]
mod arch;
#[cfg(feature = "candle")]
mod config;
#[cfg(feature = "candle")]
mod cpu;
#[cfg(feature = "candle")]
pub mod fused;
#[cfg(feature = "candle")]
pub mod ops;
#[cfg(feature = "candle")]
pub mod resume;
#[cfg(feature = "candle")]
pub mod rng;
#[cfg(feature = "candle")]
pub mod sparse_decode;
#[cfg(feature = "candle")]
pub mod sparse_step;
#[cfg(feature = "candle")]
pub mod testing;
#[cfg(feature = "candle")]
mod trainer;

#[cfg(feature = "candle")]
pub use arch::{
    Architecture, Buffers, Dims, Forward, Init, ParamSpec, Params, StepContext, cfg_usize, decode,
    decode_sparse, device, pre_activation, relu_pre_activation, standard_params,
};
#[cfg(feature = "candle")]
pub use candle_core;
#[cfg(feature = "candle")]
pub use config::TrainConfig;
#[cfg(feature = "candle")]
pub use trainer::{Session, StepStats, encode, evaluate, saelens_cfg, train, weights_to_params};

/// An [`Architecture`] as a plugin-exportable [`SaeArchitecture`](rdpbench_api::SaeArchitecture).
#[cfg(feature = "candle")]
#[derive(Debug, Clone, Copy, Default)]
pub struct CandleSae<A>(pub A);

#[cfg(feature = "candle")]
impl<A: Architecture + std::fmt::Debug> rdpbench_api::SaeArchitecture for CandleSae<A> {
    fn spec(&self) -> rdpbench_api::SaeSpec {
        self.0.spec()
    }
    fn train(
        &self,
        request: rdpbench_api::TrainRequest<'_>,
    ) -> anyhow::Result<rdpbench_api::SaeWeights> {
        train(&self.0, request)
    }
    fn encode(
        &self,
        weights: &rdpbench_api::SaeWeights,
        x: rdpbench_api::MatrixView<'_>,
    ) -> anyhow::Result<rdpbench_api::CsrMatrix> {
        encode(&self.0, weights, x)
    }
}

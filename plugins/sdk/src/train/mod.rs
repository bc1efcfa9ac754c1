//! Training support for SAE-architecture plugins.
//!
//! - [`distortion`] (always compiled): the pinned definitions of explained
//!   variance and MSE used everywhere in rdpbench.
//! - With the `candle` feature: the [`Architecture`] trait an architecture
//!   plugin implements (its math only), the shared training loop
//!   ([`train`]: AdamW, schedule, unit-norm decoder, dead-latent bookkeeping,
//!   AuxK, held-out reports, checkpoints), shared ops, and [`CandleSae`], which
//!   turns an [`Architecture`] into an exportable [`SaeArchitecture`](crate::SaeArchitecture):
//!
//! ```text
//! rdpbench_sdk::export_plugin!(saes: [rdpbench_sdk::train::CandleSae(MyArch)]);
//! ```

pub mod distortion;

#[cfg(feature = "candle")]
pub mod adamw;
#[cfg(feature = "candle")]
mod arch;
#[cfg(feature = "candle")]
mod config;
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

/// An [`Architecture`] as a plugin-exportable [`SaeArchitecture`](crate::SaeArchitecture).
#[cfg(feature = "candle")]
#[derive(Debug, Clone, Copy, Default)]
pub struct CandleSae<A>(pub A);

#[cfg(feature = "candle")]
impl<A: Architecture + std::fmt::Debug> crate::SaeArchitecture for CandleSae<A> {
    fn spec(&self) -> crate::SaeSpec {
        self.0.spec()
    }
    fn train(&self, request: crate::TrainRequest<'_>) -> anyhow::Result<crate::SaeWeights> {
        train(&self.0, request)
    }
    fn encode(
        &self,
        weights: &crate::SaeWeights,
        x: crate::MatrixView<'_>,
    ) -> anyhow::Result<crate::CsrMatrix> {
        encode(&self.0, weights, x)
    }
}

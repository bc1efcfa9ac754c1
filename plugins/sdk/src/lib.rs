//! # rdpbench-sdk: write a metric or SAE-architecture plugin for rdpbench
//!
//! This is the one crate a plugin author depends on. It is a facade: the
//! code lives in three crates split by audience, re-exported here under the
//! paths plugins have always used.
//!
//! | path | crate | what |
//! |---|---|---|
//! | [`Metric`], [`SaeArchitecture`], [`data`], [`metric`], [`sae`], [`testing`], [`prelude`] | `rdpbench-api` | the author API (no `unsafe`) |
//! | [`abi`], [`export`], [`export_plugin!`] | `rdpbench-abi` | `#[repr(C)]` ABI v1, export glue, C header |
//! | [`train`] | `rdpbench-train` | SAE training library (candle loop with the `candle` feature; `distortion` always) |
//!
//! Why four crates and not three: the ABI glue calls the author traits and
//! the training library implements them, while this facade re-exports both.
//! If the traits lived here, `rdpbench-abi` and `rdpbench-train` would
//! depend on `rdpbench-sdk` and `rdpbench-sdk` on them: a cycle. So the
//! traits sit in `rdpbench-api` at the bottom, `rdpbench-abi` and
//! `rdpbench-train` each depend on it, and this crate depends on all three.
//!
//! ## A metric plugin
//!
//! A `cdylib` crate with one type implementing [`Metric`] and one line
//! exporting it:
//!
//! ```text
//! use rdpbench_sdk::prelude::*;
//!
//! #[derive(Default)]
//! struct MyMetric;
//! impl Metric for MyMetric {
//!     fn spec(&self) -> MetricSpec { /* id, orientation, inputs, ... */ }
//!     fn compute(&self, input: &MetricInput<'_>) -> anyhow::Result<MetricOutput> { /* ... */ }
//! }
//! rdpbench_sdk::export_plugin!(metrics: [MyMetric]);
//! ```
//!
//! `rdpbench new metric NAME` scaffolds such a crate from `metrics/template`.
//! [`testing::check_examples`] replays the examples a spec declares, and
//! `rdpbench_core::testing` runs the necessary conditions on a metric in a
//! plugin's own `cargo test`.
//!
//! ## An SAE-architecture plugin
//!
//! `plugins/sae-template` (what `rdpbench new sae NAME` copies) is a complete,
//! commented example. The steps:
//!
//! 1. A crate with `crate-type = ["cdylib", "rlib"]` depending on
//!    `rdpbench-sdk` and `rdpbench-train = { features = ["candle"] }`.
//! 2. A type implementing `rdpbench_train::Architecture`: its parameters
//!    (`params`, default: SAELens `W_enc`, `b_enc`, `W_dec`, `b_dec`), its
//!    training `forward` (codes, reconstruction, its own loss terms; the
//!    library adds the reconstruction loss, AdamW, the schedule, decoder
//!    normalisation, dead-latent bookkeeping and AuxK), and its inference
//!    `encode`. Hyperparameters come from `rdpbench_train::TrainConfig`.
//! 3. Its [`SaeSpec`] declares, so that the host needs no architecture by name:
//!    - `hyperparameters`: every architecture-specific training-config key it
//!      reads ([`sae::Hyperparameter`]: name, type `int|float|bool|string|int_list`,
//!      default, optional range, description), and `default_hyperparameters`
//!      equal to [`sae::Hyperparameter::defaults`] of them;
//!    - `sparsity_knob`: the hyperparameter a sweep varies (`k`, `l1_coefficient`, ...);
//!    - `saelens_architecture`: the SAELens `architecture` string it saves under;
//!    - `saelens` ([`sae::SaelensInterop`]): the strings it loads, its tensors
//!      with symbolic shapes (`W_enc ["d_in", "d_sae"]`), in saving order,
//!      and the extra `cfg.json` fields its `encode` reads (TopK: `k`).
//! 4. `rdpbench_sdk::export_plugin!(saes: [rdpbench_train::CandleSae(MyArch)]);`
//! 5. A test calling `rdpbench_train::testing::check_architecture(&MyArch)`:
//!    it checks the spec is consistent, that the declared defaults and range
//!    bounds parse as a training config, and trains a tiny SAE to check the
//!    saved `cfg.json` and tensors match the declaration.
//!
//! The host refuses a plugin whose spec fails [`SaeSpec::validate`] when it
//! loads it, checks every training configuration with
//! [`SaeSpec::validate_hyperparameters`] before the first SAE of a sweep
//! trains (errors name the job, the field and the allowed range), and checks
//! every SAELens folder it reads or writes against the declared tensors and
//! `cfg.json` fields.
//!
//! The C ABI lives in [`abi`] (mirrored by `plugins/abi/include/rdpbench.h`);
//! the plugin-side glue in [`export`]. `rdpbench-abi` is the only crate of the
//! plugin stack with `unsafe` code.
#![forbid(unsafe_code)]

pub use rdpbench_api::{data, metric, prelude, sae, testing};

/// ABI v1: the `#[repr(C)]` types (the `rdpbench-abi` crate root).
pub use rdpbench_abi as abi;
#[doc(hidden)]
pub use rdpbench_abi::SDK_VERSION_CSTR;
pub use rdpbench_abi::{export, export_plugin};

/// The SAE training library (`rdpbench-train`); the candle loop needs the
/// `candle` feature, `train::distortion` is always there.
pub use rdpbench_train as train;

pub use rdpbench_api::{
    BatchSource, CsrMatrix, CsrView, DenseMatrix, Example, Input, MatrixView, Metric, MetricInput,
    MetricOutput, MetricSpec, NamedTensor, NoProgress, Orientation, SaeArchitecture, SaeSpec,
    SaeWeights, TrainObserver, TrainRequest,
};

/// This SDK's crate version.
pub const SDK_VERSION: &str = rdpbench_api::SDK_VERSION;

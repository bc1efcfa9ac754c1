//! # rdpbench-sdk: write a metric or SAE-architecture plugin for rdpbench
//!
//! A metric plugin is a `cdylib` crate with one type implementing [`Metric`]
//! and one line exporting it:
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
//! The C ABI lives in [`abi`] (mirrored by `include/rdpbench.h`); the
//! plugin-side glue in [`export`]. Those two modules are the only places
//! with `unsafe` code.
#![deny(unsafe_code)]

#[allow(unsafe_code)]
pub mod abi;
pub mod data;
#[allow(unsafe_code)]
pub mod export;
pub mod metric;
pub mod sae;
pub mod testing;
pub mod train;

pub use data::{CsrMatrix, CsrView, DenseMatrix, MatrixView};
pub use metric::{Example, Input, Metric, MetricInput, MetricOutput, MetricSpec, Orientation};
pub use sae::{
    BatchSource, NamedTensor, NoProgress, SaeArchitecture, SaeSpec, SaeWeights, TrainObserver,
    TrainRequest,
};

/// This SDK's crate version.
pub const SDK_VERSION: &str = env!("CARGO_PKG_VERSION");

#[doc(hidden)]
pub const SDK_VERSION_CSTR: &std::ffi::CStr = match std::ffi::CStr::from_bytes_with_nul(
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_bytes(),
) {
    Ok(s) => s,
    Err(_) => panic!("version contains NUL"),
};

/// Everything a metric author needs in one import.
pub mod prelude {
    pub use crate::data::{CsrMatrix, CsrView, DenseMatrix, MatrixView};
    pub use crate::metric::{
        Example, Input, Metric, MetricInput, MetricOutput, MetricSpec, Orientation,
    };
    pub use anyhow::{self, Context as _, bail, ensure};
}

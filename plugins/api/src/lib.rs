//! # rdpbench-api: the types and traits a plugin author writes against
//!
//! This crate is the bottom of the plugin stack and holds no `unsafe` code:
//!
//! ```text
//! rdpbench-api  (this crate: Metric, SaeArchitecture, specs, data views, testing)
//!    ├── rdpbench-abi    (#[repr(C)] ABI v1, export glue, C header)   ─┐
//!    └── rdpbench-train  (candle training loop for SAE plugins)        ├─ rdpbench-sdk (facade)
//!                                                                      ┘
//! ```
//!
//! Plugin authors depend on `rdpbench-sdk`, which re-exports everything here
//! under the same paths (`rdpbench_sdk::data`, `rdpbench_sdk::testing`, ...).
//! The split exists so the ABI glue and the training library can both use
//! these traits while the SDK re-exports both, without a dependency cycle.
#![forbid(unsafe_code)]

pub mod data;
pub mod metric;
pub mod sae;
pub mod testing;

pub use data::{CsrMatrix, CsrView, DenseMatrix, MatrixView};
pub use metric::{Example, Input, Metric, MetricInput, MetricOutput, MetricSpec, Orientation};
pub use sae::{
    BatchSource, Dim, Hyperparameter, NamedTensor, NoProgress, SaeArchitecture, SaeSpec,
    SaeWeights, SaelensCfgField, SaelensDecode, SaelensInterop, SaelensTensor, TrainObserver,
    TrainRequest, ValueRange, ValueType,
};

/// This SDK's crate version (all rdpbench plugin crates share one version).
pub const SDK_VERSION: &str = env!("CARGO_PKG_VERSION");

/// Everything a metric author needs in one import.
pub mod prelude {
    pub use crate::data::{CsrMatrix, CsrView, DenseMatrix, MatrixView};
    pub use crate::metric::{
        Example, Input, Metric, MetricInput, MetricOutput, MetricSpec, Orientation,
    };
    pub use anyhow::{self, Context as _, Result, bail, ensure};
}

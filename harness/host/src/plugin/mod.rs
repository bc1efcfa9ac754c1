//! The plugin host: discovery, loading, ABI checks, and safe proxies that
//! implement the SDK's [`Metric`](rdpbench_sdk::Metric) and
//! [`SaeArchitecture`](rdpbench_sdk::SaeArchitecture) traits.

mod error;
#[allow(unsafe_code)]
mod library;
#[allow(unsafe_code)]
mod metric;
mod registry;
#[allow(unsafe_code)]
mod sae;

pub use error::{PluginError, PluginErrorKind};
pub use library::{PluginLibrary, sha256_file};
pub use metric::LoadedMetric;
pub use registry::{BUILD_DIR_PREFIXES, DYLIB_EXTENSION, PluginSearch, PluginSet};
pub use sae::LoadedSae;

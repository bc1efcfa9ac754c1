//! # rdpbench-plugin-host: plugins as the harness sees them
//!
//! Discovery, loading and ABI checks of plugin libraries, and safe proxies
//! that implement the SDK's [`Metric`](rdpbench_sdk::Metric) and
//! [`SaeArchitecture`](rdpbench_sdk::SaeArchitecture) traits over them;
//! [`isolate`] runs a metric's check in a worker process; [`saelens`] reads
//! and writes SAELens v6 folders. `unsafe` lives only in the three modules
//! that call through the ABI, and in `parent_death` (one `prctl`).
#![deny(unsafe_code)]

pub mod call_gate;
pub mod isolate;
#[allow(unsafe_code)]
mod library;
#[allow(unsafe_code)]
mod metric;
#[allow(unsafe_code)]
mod parent_death;
pub mod python;
pub mod python_protocol;
mod registry;
#[allow(unsafe_code)]
mod sae;
pub mod saelens;
pub mod saelens_function;
pub mod supervise;
pub mod watchdog;

pub use library::{PluginLibrary, sha256_file};
pub use metric::LoadedMetric;
pub use rdpbench_schema::results::{PluginError, PluginErrorKind, PluginRecord};
pub use registry::{BUILD_DIR_PREFIXES, DYLIB_EXTENSION, PluginSearch, PluginSet};
pub use sae::LoadedSae;

impl PluginSet {
    /// Sets the wall-clock limits of every call into every library loaded
    /// now or later into this set.
    pub fn set_call_limits(&mut self, limits: call_gate::CallLimits) {
        self.call_limits = limits;
        for l in &self.libraries {
            l.gate().set_limits(limits);
        }
    }

    /// One record per library loaded into this set, in load order.
    pub fn records(&self) -> Vec<PluginRecord> {
        self.libraries
            .iter()
            .map(|l| PluginRecord {
                path: l.path().to_path_buf(),
                sha256: l.sha256().to_string(),
                sdk_version: l.sdk_version().to_string(),
            })
            .collect()
    }
}

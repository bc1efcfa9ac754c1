//! The rdpbench host library: configuration, the plugin host, scaffolding,
//! the conditions runner and the result exporters. The `rdpbench` binary is
//! a thin command-line layer over it.
#![deny(unsafe_code)]

pub mod bench;
pub mod check;
pub mod config;
pub mod exit;
pub mod export;
pub mod isolate;
pub mod plugin;
pub mod real;
pub mod report;
pub mod reproduce;
pub mod results;
pub mod saelens;
pub mod scaffold;
pub mod train;
pub mod validity;
pub mod work_queue;

/// The rdpbench version, recorded in every result.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

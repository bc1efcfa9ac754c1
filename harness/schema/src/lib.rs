//! # rdpbench-schema: rdpbench's data at rest
//!
//! The bottom layer of the host: plain types and no logic beyond parsing
//! and validation. Every other host crate depends on it; it depends on no
//! host crate.
//!
//! - [`config`]: the configuration ([`config::Config`]) with its embedded,
//!   commented defaults (`default.toml`), layered user files, and errors that
//!   name the file and the dotted field;
//! - [`settings`]: one settings type per stage (`[train]`, `[validity]`,
//!   `[bench]`, `[real]`, and the reproduction's);
//! - [`results`]: what every stage produces, as persisted (`check.json`,
//!   `train.json`, `rdp.json`, `validity.json`, `bench.json`, `real.json`);
//! - [`exit`]: the documented process exit codes.
#![forbid(unsafe_code)]

pub mod config;
pub mod exit;
pub mod results;
pub mod sanitize;
pub mod settings;

/// The rdpbench version, recorded in every result.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

//! What every stage produces, as persisted. Each type carries its
//! `schema_version`; loaders refuse other versions with the file's name.

pub mod bench;
pub mod check;
pub mod eval;
pub mod game;
pub mod plugin_error;
pub mod rdp;
pub mod real;
pub mod train;
pub mod validity;

pub use check::{CheckRun, MetricResult, PluginRecord, SeedLadders};
pub use plugin_error::{PluginError, PluginErrorKind};

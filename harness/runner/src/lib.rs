//! # rdpbench-runner: the pipeline's stages as library functions
//!
//! One module per stage; each takes settings (from `rdpbench-schema`) and
//! loaded plugins (from `rdpbench-plugin-host`) and returns a result type
//! of `rdpbench-schema`. The runner never renders or names a result file:
//! the caller hands results to the store (`rdpbench-store`), and the
//! reports read them back from there. Every stage reports progress to one
//! observer, [`progress::Progress`] (no-op hooks; the CLI draws bars from them).
//!
//! | stage | module | result |
//! |---|---|---|
//! | `check` | [`check`] | `CheckRun` (`check.json`) |
//! | `train` | [`train`] | `SweepSummary` (`train.json`) |
//! | `reproduce rdp` | [`reproduce`] | `RdpReport` (`rdp.json`) |
//! | `validity` | [`validity`] | `ValidityRun` (`validity.json`) |
//! | `bench` | [`bench`] | `BenchRun` (`bench.json`) |
//! | `real` | [`real`] | `RealRun` (`real.json`) |
#![deny(unsafe_code)]

pub mod bench;
pub mod check;
pub mod eval;
pub mod game;
pub mod memory;
pub mod planted;
pub mod progress;
pub mod real;
pub mod reproduce;
pub mod scaffold;
pub mod shard;
pub mod train;
pub mod validity;
pub mod work_queue;

pub use rdpbench_schema::VERSION;

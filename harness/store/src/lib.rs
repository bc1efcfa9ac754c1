//! rdpbench's one results store.
//!
//! Only this crate knows the names of the files rdpbench writes into a
//! results folder ([`ResultFile`], [`ResultDir`]) and only it writes them.
//! Its guarantees (see `docs/results-files.md`):
//!
//! - **Atomic files.** Every file is written to a temporary file on the
//!   same file system, fsynced, renamed into place, and the folder fsynced
//!   ([`write_atomic`]). A file that exists is complete.
//! - **All-or-nothing stages.** A stage's files are staged under
//!   `<root>/.staging/` and moved into place together at
//!   [`StageWriter::commit`], behind an fsynced journal; a commit cut short
//!   by a crash is finished by the next [`Store::open`], anything else left
//!   in `.staging/` is discarded. Until a stage commits, the previous run's
//!   files and `run.json` are untouched.
//! - **One writer.** [`Store::open`] takes an exclusive, non-blocking lock
//!   on `<root>/.rdpbench.lock`; a second process fails at once with
//!   [`StoreError::Locked`] (exit code [`EXIT_RESULTS_FOLDER_IN_USE`] = 6).
//! - **A manifest written last.** `run.json` lists each stage's status and
//!   every file it wrote with SHA-256 and size; readers
//!   ([`Store::read_vouched`], [`StoreReader`]) return only files the
//!   manifest vouches for whose bytes still match. A failed, skipped or
//!   never-run stage vouches for nothing.
//! - **Errors name their file** ([`StoreError`]).
//!
//! ```no_run
//! use rdpbench_store::{ResultFile, Stage, Store};
//! # fn main() -> Result<(), rdpbench_store::StoreError> {
//! let mut store = Store::open("results".as_ref(), "rdpbench check")?;
//! let mut w = store.begin(Stage::Check)?;
//! w.write(ResultFile::CheckJson, b"{}\n")?;
//! w.commit()?;
//! assert!(store.read_vouched(ResultFile::CheckJson)?.is_some());
//! # Ok(()) }
//! ```

mod error;
mod fsutil;
mod manifest;
mod registry;
mod store;

pub use error::{EXIT_RESULTS_FOLDER_IN_USE, StoreError};
pub use fsutil::{now_utc, sha256_hex, write_atomic};
pub use manifest::{FileRecord, MANIFEST_SCHEMA_VERSION, Manifest, StageRecord, Status};
pub use registry::{
    CRITERION_LOG, Format, LOCK_FILE, MANIFEST_FILE, PARTIAL_DIR, ResultDir, ResultFile,
    SAE_CFG_FILE, SAE_EVAL_FILE, SAE_WEIGHTS_FILE, SHARDS_DIR, STAGING_DIR, Stage, shard_path,
};
pub use store::{StageWriter, Store, StoreReader};

/// The rdpbench version recorded in `run.json` (the workspace version).
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

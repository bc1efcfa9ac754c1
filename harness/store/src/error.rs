//! The store's one error type. Every variant that concerns a file names it.

use std::fmt;
use std::io;
use std::path::PathBuf;

/// Proposed process exit code for [`StoreError::Locked`]: "the results
/// folder is in use by another rdpbench process". Distinct from 0-5 that
/// `rdpbench` already documents (ok, internal, usage, plugin, conditions
/// failed, regression).
pub const EXIT_RESULTS_FOLDER_IN_USE: u8 = 6;

/// Everything that can go wrong in the store.
#[derive(Debug)]
#[non_exhaustive]
pub enum StoreError {
    /// Another process (or another [`crate::Store`] in this process) holds
    /// the exclusive lock on the results folder. The CLI maps this to
    /// [`EXIT_RESULTS_FOLDER_IN_USE`].
    Locked {
        /// The results folder.
        root: PathBuf,
        /// What the holder wrote into the lock file (its pid and command),
        /// when readable.
        holder: Option<String>,
    },
    /// An I/O operation failed on `path`.
    Io {
        /// What was being done ("write", "rename to ...", "fsync", ...).
        op: String,
        /// The file or folder it was done to.
        path: PathBuf,
        /// The operating system's error.
        source: io::Error,
    },
    /// `run.json` exists but is not a manifest this version understands.
    Manifest {
        /// The manifest file.
        path: PathBuf,
        /// Why it was refused.
        message: String,
    },
    /// A vouched file's bytes are not the JSON document the caller asked for.
    Parse {
        /// The file.
        path: PathBuf,
        /// The parser's message.
        message: String,
    },
    /// A file was written through the writer of a stage that does not
    /// produce it (a programming error in the caller).
    WrongStage {
        /// The result file's path relative to the results folder.
        file: String,
        /// The stage that produces it.
        owner: &'static str,
        /// The stage that tried to write it.
        writer: &'static str,
    },
    /// A caller-supplied name (job folder, file inside a result folder) is
    /// empty, absolute, or leaves its folder (`..`), or is hidden.
    BadName {
        /// The offending name.
        name: String,
    },
}

impl StoreError {
    /// True for [`StoreError::Locked`].
    pub fn is_locked(&self) -> bool {
        matches!(self, StoreError::Locked { .. })
    }

    /// The exit code this error should end the process with, when it has a
    /// dedicated one ([`EXIT_RESULTS_FOLDER_IN_USE`] for `Locked`); `None`
    /// means "an internal/I-O error" (the CLI's code 1).
    pub fn exit_code(&self) -> Option<u8> {
        match self {
            StoreError::Locked { .. } => Some(EXIT_RESULTS_FOLDER_IN_USE),
            _ => None,
        }
    }

    pub(crate) fn io(op: impl Into<String>, path: impl Into<PathBuf>, source: io::Error) -> Self {
        StoreError::Io {
            op: op.into(),
            path: path.into(),
            source,
        }
    }
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreError::Locked { root, holder } => {
                write!(
                    f,
                    "results folder {} is in use by another rdpbench process",
                    root.display()
                )?;
                if let Some(h) = holder {
                    write!(f, " ({h})")?;
                }
                write!(
                    f,
                    "; wait for it to finish or use another --out folder (exit code {EXIT_RESULTS_FOLDER_IN_USE})"
                )
            }
            StoreError::Io { op, path, source } => {
                write!(f, "cannot {op} {}: {source}", path.display())
            }
            StoreError::Manifest { path, message } => {
                write!(f, "{}: {message}", path.display())
            }
            StoreError::Parse { path, message } => {
                write!(f, "cannot parse {}: {message}", path.display())
            }
            StoreError::WrongStage {
                file,
                owner,
                writer,
            } => write!(
                f,
                "{file} belongs to stage `{owner}` and cannot be written by stage `{writer}`"
            ),
            StoreError::BadName { name } => write!(
                f,
                "`{name}` is not a valid name inside a results folder (empty, absolute, hidden or containing `..`)"
            ),
        }
    }
}

impl std::error::Error for StoreError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            StoreError::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

//! Plugin errors: always the file, the class and the reason.

use std::path::{Path, PathBuf};

/// What went wrong with a plugin.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PluginErrorKind {
    /// The file could not be read or loaded as a shared library.
    NotALibrary,
    /// A shared library without the rdpbench entry symbol.
    NotAPlugin,
    /// Built for another ABI version or layout.
    AbiMismatch,
    /// Its spec is malformed (bad JSON, bad id, repeated input).
    BadSpec,
    /// Its id is already taken by another plugin.
    IdCollision,
    /// A call failed, panicked, or returned a non-finite value.
    Failed,
}

/// One plugin problem, naming the library file.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PluginError {
    pub path: PathBuf,
    pub kind: PluginErrorKind,
    pub message: String,
}

impl PluginError {
    pub fn new(path: &Path, kind: PluginErrorKind, message: impl Into<String>) -> Self {
        Self {
            path: path.to_path_buf(),
            kind,
            message: message.into(),
        }
    }
}

impl std::fmt::Display for PluginError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "plugin {}: {}", self.path.display(), self.message)
    }
}

impl std::error::Error for PluginError {}

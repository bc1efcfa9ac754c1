//! `run.json`: which stage ran, how it ended, and every file it wrote with
//! its SHA-256. Written last (after the files it vouches for are in place),
//! always atomically.

use crate::{Stage, StoreError};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// The manifest schema this crate writes and reads.
pub const MANIFEST_SCHEMA_VERSION: u32 = 1;

/// How a stage last ended in this results folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// It finished; its files are vouched for.
    Ok,
    /// It failed (see `reason`); none of its files are vouched for.
    Failed,
    /// `rdpbench run --skip` left it out; nothing is vouched for.
    Skipped,
    /// It has not run since the last `rdpbench run` started (or ever).
    NotRun,
    /// It is replacing files its previous entry vouched for (a job folder
    /// of the same name) and has not finished: nothing is vouched for. A
    /// [`crate::Store::open`] that finds this (so no process holds the
    /// folder any more) records the stage as `failed` ("interrupted").
    Running,
}

impl Status {
    /// The snake_case name, as in `run.json`.
    pub fn name(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Failed => "failed",
            Status::Skipped => "skipped",
            Status::NotRun => "not_run",
            Status::Running => "running",
        }
    }
}

/// One file a stage wrote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileRecord {
    /// Relative to the results folder, `/`-separated.
    pub path: String,
    /// Lower-case hex SHA-256 of the bytes.
    pub sha256: String,
    /// Length in bytes.
    pub bytes: u64,
}

/// One stage's entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StageRecord {
    pub status: Status,
    /// Why it failed or was skipped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The command line that produced this entry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    /// RFC 3339 UTC, when the stage began (absent for not_run/skipped).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started: Option<String>,
    /// RFC 3339 UTC, when it ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished: Option<String>,
    /// The files it wrote, sorted by path; empty unless `status` is `ok`.
    #[serde(default)]
    pub files: Vec<FileRecord>,
}

impl StageRecord {
    /// A stage that has not run.
    pub fn not_run() -> Self {
        StageRecord {
            status: Status::NotRun,
            reason: None,
            command: None,
            started: None,
            finished: None,
            files: Vec::new(),
        }
    }

    /// One line for a report: `ok`, `failed: <reason>`, `skipped: <reason>`
    /// or `not run`.
    pub fn summary(&self) -> String {
        let name = match self.status {
            Status::NotRun => "not run",
            s => s.name(),
        };
        match &self.reason {
            Some(r) if self.status != Status::Ok => format!("{name}: {r}"),
            _ => name.to_string(),
        }
    }

    /// The record of `path`, if this stage vouches for it (status ok).
    pub fn vouched(&self, path: &str) -> Option<&FileRecord> {
        if self.status != Status::Ok {
            return None;
        }
        self.files.iter().find(|f| f.path == path)
    }
}

/// The whole `run.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub schema_version: u32,
    /// Always `rdpbench`.
    pub tool: String,
    /// The version of the rdpbench that last wrote this manifest.
    pub tool_version: String,
    /// The command line that last wrote this manifest.
    pub command: String,
    /// RFC 3339 UTC of the last write.
    pub updated: String,
    /// RFC 3339 UTC of the last `rdpbench run` start (reset), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_started: Option<String>,
    /// Every stage, in run order; a stage absent from an older file reads as not_run.
    pub stages: BTreeMap<Stage, StageRecord>,
}

impl Manifest {
    /// A manifest in which no stage has run.
    pub fn empty(command: &str) -> Self {
        Manifest {
            schema_version: MANIFEST_SCHEMA_VERSION,
            tool: "rdpbench".into(),
            tool_version: crate::VERSION.into(),
            command: command.into(),
            updated: crate::fsutil::now_utc(),
            run_started: None,
            stages: Stage::ALL
                .into_iter()
                .map(|s| (s, StageRecord::not_run()))
                .collect(),
        }
    }

    /// The entry of `stage` (not_run when absent).
    pub fn stage(&self, stage: Stage) -> &StageRecord {
        static NOT_RUN: std::sync::OnceLock<StageRecord> = std::sync::OnceLock::new();
        self.stages
            .get(&stage)
            .unwrap_or_else(|| NOT_RUN.get_or_init(StageRecord::not_run))
    }

    /// The status of `stage`.
    pub fn status(&self, stage: Stage) -> Status {
        self.stage(stage).status
    }

    /// The stage and record vouching for `path`, if any stage with status ok lists it.
    pub fn vouched(&self, path: &str) -> Option<(Stage, &FileRecord)> {
        self.stages
            .iter()
            .find_map(|(s, r)| r.vouched(path).map(|f| (*s, f)))
    }

    /// Parses `run.json`'s text; `path` names it in errors.
    pub fn parse(text: &[u8], path: &Path) -> Result<Self, StoreError> {
        let m: Manifest = serde_json::from_slice(text).map_err(|e| StoreError::Manifest {
            path: path.to_path_buf(),
            message: format!(
                "not a valid rdpbench run manifest ({e}); delete it to start a fresh results folder"
            ),
        })?;
        if m.schema_version != MANIFEST_SCHEMA_VERSION {
            return Err(StoreError::Manifest {
                path: path.to_path_buf(),
                message: format!(
                    "manifest schema_version {} is not {MANIFEST_SCHEMA_VERSION} (this rdpbench); use the rdpbench that wrote it, or another results folder",
                    m.schema_version
                ),
            });
        }
        Ok(m)
    }

    /// Pretty JSON with a trailing newline.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut v = serde_json::to_vec_pretty(self).expect("a manifest always serializes");
        v.push(b'\n');
        v
    }
}

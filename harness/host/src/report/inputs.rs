//! What a report is built from: a `check.json` (required) and, later, the
//! results of other commands, each optional. A section whose input is
//! missing is omitted from the report with a note naming what produces it.

use crate::results::CheckRun;
use anyhow::Result;
use std::path::{Path, PathBuf};

/// The results file every report needs.
pub const CHECK_FILE: &str = "check.json";

/// The inputs of a report.
///
/// Only `check` exists today. Results of SAE training (architecture
/// leaderboard, rate-distortion curves), metric validity on trained SAEs
/// (ρ with P_gt, metric vs P_gt scatter), co-occurrence sweeps and runtime
/// benchmarks get one `Option` field each here when their commands land;
/// `build.rs` turns each into an [`super::data::ExtraSection`].
#[derive(Debug, Clone)]
pub struct ReportInputs {
    pub check: CheckRun,
    /// `validity.json` (`rdpbench validity`): the leaderboard's validity ρ and the metric vs P_gt section.
    pub validity: Option<crate::validity::ValidityRun>,
}

impl ReportInputs {
    /// Only a check run.
    pub fn from_check(check: CheckRun) -> Self {
        Self {
            check,
            validity: None,
        }
    }

    /// Reads a results folder (or a `check.json` directly): `check.json`,
    /// plus whichever optional inputs exist beside it.
    pub fn load(path: &Path) -> Result<Self> {
        anyhow::ensure!(
            path.exists(),
            "no results at {}: give a results folder holding {CHECK_FILE} (from `rdpbench check`) \
             or a {CHECK_FILE} file",
            path.display()
        );
        let check_path = check_file(path);
        let mut inputs = Self::from_check(CheckRun::load(&check_path)?);
        let validity = check_path
            .parent()
            .unwrap_or(Path::new("."))
            .join(crate::validity::VALIDITY_FILE);
        if validity.is_file() {
            inputs.validity = Some(crate::validity::ValidityRun::load(&validity)?);
        }
        Ok(inputs)
    }
}

/// `path` itself when it is a file, else `path/check.json`.
pub fn check_file(path: &Path) -> PathBuf {
    if path.is_dir() {
        path.join(CHECK_FILE)
    } else {
        path.to_path_buf()
    }
}

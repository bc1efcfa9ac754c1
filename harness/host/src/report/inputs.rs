//! What a report is built from: a `check.json` (required) and, later, the
//! results of other commands, each optional. A section whose input is
//! missing is omitted from the report with a note naming what produces it.

use crate::bench::{BENCH_FILE, BenchRun};
use crate::reproduce::RdpReport;
use crate::results::CheckRun;
use crate::train::SweepSummary;
use anyhow::{Context, Result};
use std::path::{Path, PathBuf};

/// The results file every report needs.
pub const CHECK_FILE: &str = "check.json";

/// The inputs of a report.
///
/// `check` is required; every other command's results are one `Option`
/// field each, read from beside `check.json` when present; `build.rs`
/// turns each into an [`super::data::ExtraSection`].
#[derive(Debug, Clone)]
pub struct ReportInputs {
    pub check: CheckRun,
    /// `saes/train.json` (`rdpbench train`): the SAE architecture leaderboard.
    pub train: Option<SweepSummary>,
    /// `rdp.json` (`rdpbench reproduce rdp`): rate-distortion curves and P_gt vs co-occurrence.
    pub rdp: Option<RdpReport>,
    /// `bench.json` (`rdpbench bench`): runtime scaling and the leaderboard's runtime columns.
    pub bench: Option<BenchRun>,
    /// `validity.json` (`rdpbench validity`): the leaderboard's validity ρ and the metric vs P_gt section.
    pub validity: Option<crate::validity::ValidityRun>,
    /// `real.json` (`rdpbench real`): the "Real data" section.
    pub real: Option<crate::real::RealRun>,
    /// `real-bench/bench.json` (`rdpbench bench --cache`, as
    /// `scripts/real-run.sh` runs it): runtime in the "Real data" section.
    pub real_bench: Option<BenchRun>,
}

impl ReportInputs {
    /// Only a check run.
    pub fn from_check(check: CheckRun) -> Self {
        Self {
            check,
            train: None,
            rdp: None,
            bench: None,
            validity: None,
            real: None,
            real_bench: None,
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
        let dir = check_path.parent().unwrap_or(Path::new("."));
        inputs.train = optional(&dir.join(TRAIN_FILE), |p| {
            let text = std::fs::read_to_string(p)?;
            Ok(serde_json::from_str(&text)?)
        })?;
        inputs.rdp = optional(&dir.join(RDP_FILE), |p| {
            let text = std::fs::read_to_string(p)?;
            Ok(serde_json::from_str(&text)?)
        })?;
        inputs.bench = optional(&dir.join(BENCH_FILE), BenchRun::load)?;
        inputs.validity = optional(
            &dir.join(crate::validity::VALIDITY_FILE),
            crate::validity::ValidityRun::load,
        )?;
        inputs.real = optional(
            &dir.join(crate::real::REAL_FILE),
            crate::real::RealRun::load,
        )?;
        inputs.real_bench = optional(&dir.join(REAL_BENCH_DIR).join(BENCH_FILE), BenchRun::load)?;
        Ok(inputs)
    }
}

/// The training sweep summary, relative to the results folder (the default `[train].dir`).
pub const TRAIN_FILE: &str = "saes/train.json";
/// Where `scripts/real-run.sh` writes `rdpbench bench --cache`'s results,
/// relative to the results folder.
pub const REAL_BENCH_DIR: &str = "real-bench";
/// The `reproduce rdp` results, relative to the results folder.
pub const RDP_FILE: &str = "rdp.json";

/// Reads an optional input: `None` when the file does not exist, an error
/// naming the file when it exists and cannot be read.
fn optional<T>(path: &Path, read: impl FnOnce(&Path) -> Result<T>) -> Result<Option<T>> {
    if !path.is_file() {
        return Ok(None);
    }
    read(path)
        .map(Some)
        .with_context(|| format!("cannot read report input {}", path.display()))
}

/// `path` itself when it is a file, else `path/check.json`.
pub fn check_file(path: &Path) -> PathBuf {
    if path.is_dir() {
        path.join(CHECK_FILE)
    } else {
        path.to_path_buf()
    }
}

//! What a report is built from: the results of a folder's stages, each
//! read through the store ([`StoreReader`]), so that only what its
//! `run.json` vouches for reaches a report. A stage that failed, was
//! skipped or never ran contributes no data, only its status line; a
//! section whose input is missing says what produces it.

use anyhow::{Context, Result};
use rdpbench_schema::results::CheckRun;
use rdpbench_schema::results::bench::BenchRun;
use rdpbench_schema::results::eval::EvalRun;
use rdpbench_schema::results::game::GameRun;
use rdpbench_schema::results::planted::PlantedRun;
use rdpbench_schema::results::rdp::RdpReport;
use rdpbench_schema::results::real::RealRun;
use rdpbench_schema::results::train::SweepSummary;
use rdpbench_schema::results::validity::ValidityRun;
use rdpbench_store::{ResultFile, Stage, Status, StoreReader};
use std::path::Path;

/// One stage's line in the report's run summary.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct StageLine {
    /// `check`, `train`, …
    pub stage: String,
    /// `ok`, `failed`, `skipped`, `not_run`, `running`.
    pub status: String,
    /// `failed: <reason>`, `not run`, …
    pub summary: String,
}

/// The inputs of a report: every stage's result, each `None` unless its
/// stage is vouched for (status ok, file hashes intact).
#[derive(Debug, Clone, Default)]
pub struct ReportInputs {
    /// `check.json` (`rdpbench check`): the leaderboard, the condition matrix, failures.
    pub check: Option<CheckRun>,
    /// `saes/train.json` (`rdpbench train`): the SAE architecture leaderboard.
    pub train: Option<SweepSummary>,
    /// `rdp.json` (`rdpbench reproduce rdp`): rate-distortion curves and P_gt vs co-occurrence.
    pub rdp: Option<RdpReport>,
    /// `bench.json` (`rdpbench bench`): runtime scaling and the leaderboard's runtime columns.
    pub bench: Option<BenchRun>,
    /// `game.json` (`rdpbench game`): the leaderboard's gameability column and the gameability section.
    pub game: Option<GameRun>,
    /// `validity.json` (`rdpbench validity`): the leaderboard's validity ρ and the metric vs P_gt section.
    pub validity: Option<ValidityRun>,
    /// `real.json` (`rdpbench real`): the "Real data" section.
    pub real: Option<RealRun>,
    /// `real-bench/bench.json` (`rdpbench bench --cache`): runtime in the "Real data" section.
    pub real_bench: Option<BenchRun>,
    /// `eval.json` (`rdpbench eval`): the "Evaluated SAEs" section.
    pub eval: Option<EvalRun>,
    /// `planted.json` (`rdpbench planted`): the "Planted features" section.
    pub planted: Option<PlantedRun>,
    /// Each stage's status as `run.json` records it (empty without a manifest).
    pub stages: Vec<StageLine>,
}

impl ReportInputs {
    /// Only a check run (tests, and reports of a run held in memory).
    pub fn from_check(check: CheckRun) -> Self {
        Self {
            check: Some(check),
            ..Self::default()
        }
    }

    /// Reads a results folder through its `run.json`: every vouched result,
    /// and every stage's status. A folder without `run.json` holds nothing
    /// rdpbench vouches for: an error that says so.
    pub fn load(dir: &Path) -> Result<Self> {
        anyhow::ensure!(
            dir.is_dir(),
            "no results folder at {}: give the folder `rdpbench check` or `rdpbench run` wrote (--out)",
            dir.display()
        );
        let store = StoreReader::open(dir)?;
        anyhow::ensure!(
            store.has_manifest(),
            "{} has no run.json: it holds no results this version of rdpbench vouches for (rerun `rdpbench run --out {}`)",
            dir.display(),
            dir.display()
        );
        let stages = store
            .manifest()
            .stages
            .iter()
            // The report is being made: its own entry says nothing about it.
            .filter(|(stage, _)| **stage != Stage::Report)
            .map(|(stage, record)| StageLine {
                stage: stage.name().to_string(),
                status: record.status.name().to_string(),
                summary: record.summary(),
            })
            .collect();
        fn json<T: serde::de::DeserializeOwned>(t: &str, o: &str) -> Result<T> {
            serde_json::from_str(t).with_context(|| format!("{o} is not valid JSON of its kind"))
        }
        Ok(Self {
            check: vouched(&store, ResultFile::CheckJson, CheckRun::parse)?,
            train: vouched(&store, ResultFile::TrainJson, json)?,
            rdp: vouched(&store, ResultFile::RdpJson, json)?,
            bench: vouched(&store, ResultFile::BenchJson, BenchRun::parse)?,
            game: vouched(&store, ResultFile::GameJson, GameRun::parse)?,
            validity: vouched(&store, ResultFile::ValidityJson, ValidityRun::parse)?,
            real: vouched(&store, ResultFile::RealJson, RealRun::parse)?,
            real_bench: vouched(&store, ResultFile::RealBenchJson, BenchRun::parse)?,
            eval: vouched(&store, ResultFile::EvalJson, EvalRun::parse)?,
            planted: vouched(&store, ResultFile::PlantedJson, PlantedRun::parse)?,
            stages,
        })
    }

    /// Why the check results are missing, when they are (the check
    /// stage's status), for the report's notice.
    pub fn check_missing(&self) -> Option<String> {
        if self.check.is_some() {
            return None;
        }
        let line = self.stages.iter().find(|l| l.stage == Stage::Check.name());
        Some(match line {
            Some(l) if l.status == Status::Ok.name() => {
                "check: its files no longer match run.json (changed after the run)".into()
            }
            Some(l) => format!("check {}", l.summary),
            None => "check has not run in this folder".into(),
        })
    }
}

/// A vouched result file, parsed by `parse(text, origin)`; `None` when
/// not vouched.
fn vouched<T>(
    store: &StoreReader,
    file: ResultFile,
    parse: impl Fn(&str, &str) -> Result<T>,
) -> Result<Option<T>> {
    let origin = store.root().join(file.path()).display().to_string();
    let Some(bytes) = store.read_vouched(file)? else {
        return Ok(None);
    };
    let text = String::from_utf8(bytes).with_context(|| format!("{origin} is not UTF-8"))?;
    parse(&text, &origin).map(Some)
}

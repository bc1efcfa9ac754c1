//! The registry of every file and folder rdpbench writes into a results
//! folder: its path (relative to the results folder), the stage that
//! produces it and its format. No other crate spells these names.

use serde::{Deserialize, Serialize};

/// A stage of `rdpbench run`, each also a standalone command. The
/// serialized (snake_case) names are stable: they are the keys of
/// `run.json`'s `stages`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// `rdpbench check`: conditions C1-C11 on the toy workbench.
    Check,
    /// `rdpbench game`: how far each metric can be gamed on oracle SAEs.
    Game,
    /// `rdpbench train`: the SAE architecture sweep.
    Train,
    /// `rdpbench reproduce rdp`: rate-distortion-polysemanticity curves.
    Rdp,
    /// `rdpbench validity`: metric vs ground-truth polysemanticity.
    Validity,
    /// `rdpbench bench`: metric runtime with criterion.
    Bench,
    /// `rdpbench real`: SAEs on real LM activations.
    Real,
    /// `rdpbench bench --cache` on the real SAEs, into `real-bench/`.
    RealBench,
    /// `rdpbench eval`: any SAE folders on given activations.
    Eval,
    /// `rdpbench planted`: known features planted into real activations.
    Planted,
    /// `rdpbench report` / the last stage of `rdpbench run`: the HTML report.
    Report,
}

impl Stage {
    /// Every stage, in `rdpbench run`'s order.
    pub const ALL: [Stage; 11] = [
        Stage::Check,
        Stage::Game,
        Stage::Train,
        Stage::Rdp,
        Stage::Validity,
        Stage::Bench,
        Stage::Real,
        Stage::RealBench,
        Stage::Eval,
        Stage::Planted,
        Stage::Report,
    ];

    /// The stable snake_case name (as in `run.json`).
    pub fn name(self) -> &'static str {
        match self {
            Stage::Check => "check",
            Stage::Game => "game",
            Stage::Train => "train",
            Stage::Rdp => "rdp",
            Stage::Validity => "validity",
            Stage::Bench => "bench",
            Stage::Real => "real",
            Stage::RealBench => "real_bench",
            Stage::Eval => "eval",
            Stage::Planted => "planted",
            Stage::Report => "report",
        }
    }

    /// Parses a stage name; accepts the CLI's kebab-case spelling
    /// (`real-bench`, as `rdpbench run --skip` takes it) as well.
    pub fn parse(name: &str) -> Option<Stage> {
        let name = name.replace('-', "_");
        Stage::ALL.into_iter().find(|s| s.name() == name)
    }

    /// The fixed-name files this stage produces.
    pub fn files(self) -> impl Iterator<Item = ResultFile> {
        ResultFile::ALL
            .into_iter()
            .filter(move |f| f.stage() == self)
    }

    /// The folders this stage owns.
    pub fn dirs(self) -> impl Iterator<Item = ResultDir> {
        ResultDir::ALL
            .into_iter()
            .filter(move |d| d.stage() == self)
    }
}

impl std::fmt::Display for Stage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The format of a result file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Csv,
    Markdown,
    JunitXml,
    Html,
}

/// Every fixed-name result file, relative to the results folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ResultFile {
    /// `check.json`: the full check run (schema_version, metrics, conditions, evidence).
    CheckJson,
    /// `check.csv`: one row per metric x condition.
    CheckCsv,
    /// `check.md`: the verdict table.
    CheckMarkdown,
    /// `check.junit.xml`: one test case per metric x condition, for CI.
    CheckJunit,
    /// `comparison.json`: `check --baseline`'s gained/lost conditions.
    CheckComparison,
    /// `game.json`: every metric's gameability search (best edit sequences).
    GameJson,
    /// `game.md`: the gameability table.
    GameMarkdown,
    /// `saes/train.json`: the sweep summary (one row per job with its toy evaluation).
    TrainJson,
    /// `saes/train.csv`: the same, one row per job.
    TrainCsv,
    /// `rdp.json`: `reproduce rdp`'s curves, P_gt vs co-occurrence and claims.
    RdpJson,
    /// `rdp_curves.csv`: rate-distortion-polysemanticity points.
    RdpCurvesCsv,
    /// `rdp_pgt_vs_q.csv`: P_gt against co-occurrence q.
    RdpPgtCsv,
    /// `validity.json`: metric vs P_gt over the SAE population.
    ValidityJson,
    /// `validity.csv`
    ValidityCsv,
    /// `validity.md`
    ValidityMarkdown,
    /// `bench.json`: criterion medians and scaling fits per metric.
    BenchJson,
    /// `bench.csv`
    BenchCsv,
    /// `bench.md`
    BenchMarkdown,
    /// `real.json`: real-data SAEs, held-out metrics with intervals, toy ranking.
    RealJson,
    /// `real.csv`
    RealCsv,
    /// `real.md`
    RealMarkdown,
    /// `real-bench/bench.json`: runtime on the real SAEs.
    RealBenchJson,
    /// `real-bench/bench.csv`
    RealBenchCsv,
    /// `real-bench/bench.md`
    RealBenchMarkdown,
    /// `eval.json`: `rdpbench eval`'s numbers per SAE.
    EvalJson,
    /// `eval.csv`: one row per SAE.
    EvalCsv,
    /// `planted.json`: planted-feature experiments (R2, validity transfer, ladders).
    PlantedJson,
    /// `planted.md`
    PlantedMarkdown,
    /// `report.html`: the self-contained HTML report.
    ReportHtml,
}

impl ResultFile {
    /// Every result file.
    pub const ALL: [ResultFile; 29] = [
        ResultFile::CheckJson,
        ResultFile::CheckCsv,
        ResultFile::CheckMarkdown,
        ResultFile::CheckJunit,
        ResultFile::CheckComparison,
        ResultFile::GameJson,
        ResultFile::GameMarkdown,
        ResultFile::TrainJson,
        ResultFile::TrainCsv,
        ResultFile::RdpJson,
        ResultFile::RdpCurvesCsv,
        ResultFile::RdpPgtCsv,
        ResultFile::ValidityJson,
        ResultFile::ValidityCsv,
        ResultFile::ValidityMarkdown,
        ResultFile::BenchJson,
        ResultFile::BenchCsv,
        ResultFile::BenchMarkdown,
        ResultFile::RealJson,
        ResultFile::RealCsv,
        ResultFile::RealMarkdown,
        ResultFile::RealBenchJson,
        ResultFile::RealBenchCsv,
        ResultFile::RealBenchMarkdown,
        ResultFile::EvalJson,
        ResultFile::EvalCsv,
        ResultFile::PlantedJson,
        ResultFile::PlantedMarkdown,
        ResultFile::ReportHtml,
    ];

    /// The path relative to the results folder, `/`-separated.
    pub fn path(self) -> &'static str {
        use ResultFile::*;
        match self {
            CheckJson => "check.json",
            CheckCsv => "check.csv",
            CheckMarkdown => "check.md",
            CheckJunit => "check.junit.xml",
            CheckComparison => "comparison.json",
            GameJson => "game.json",
            GameMarkdown => "game.md",
            TrainJson => "saes/train.json",
            TrainCsv => "saes/train.csv",
            RdpJson => "rdp.json",
            RdpCurvesCsv => "rdp_curves.csv",
            RdpPgtCsv => "rdp_pgt_vs_q.csv",
            ValidityJson => "validity.json",
            ValidityCsv => "validity.csv",
            ValidityMarkdown => "validity.md",
            BenchJson => "bench.json",
            BenchCsv => "bench.csv",
            BenchMarkdown => "bench.md",
            RealJson => "real.json",
            RealCsv => "real.csv",
            RealMarkdown => "real.md",
            RealBenchJson => "real-bench/bench.json",
            RealBenchCsv => "real-bench/bench.csv",
            RealBenchMarkdown => "real-bench/bench.md",
            EvalJson => "eval.json",
            EvalCsv => "eval.csv",
            PlantedJson => "planted.json",
            PlantedMarkdown => "planted.md",
            ReportHtml => "report.html",
        }
    }

    /// The stage that writes it.
    pub fn stage(self) -> Stage {
        use ResultFile::*;
        match self {
            CheckJson | CheckCsv | CheckMarkdown | CheckJunit | CheckComparison => Stage::Check,
            GameJson | GameMarkdown => Stage::Game,
            TrainJson | TrainCsv => Stage::Train,
            RdpJson | RdpCurvesCsv | RdpPgtCsv => Stage::Rdp,
            ValidityJson | ValidityCsv | ValidityMarkdown => Stage::Validity,
            BenchJson | BenchCsv | BenchMarkdown => Stage::Bench,
            RealJson | RealCsv | RealMarkdown => Stage::Real,
            RealBenchJson | RealBenchCsv | RealBenchMarkdown => Stage::RealBench,
            EvalJson | EvalCsv => Stage::Eval,
            PlantedJson | PlantedMarkdown => Stage::Planted,
            ReportHtml => Stage::Report,
        }
    }

    /// Its format.
    pub fn format(self) -> Format {
        use ResultFile::*;
        match self {
            CheckJson | CheckComparison | GameJson | TrainJson | RdpJson | ValidityJson
            | BenchJson | RealJson | RealBenchJson | EvalJson | PlantedJson => Format::Json,
            CheckCsv | TrainCsv | RdpCurvesCsv | RdpPgtCsv | ValidityCsv | BenchCsv | RealCsv
            | RealBenchCsv | EvalCsv => Format::Csv,
            CheckMarkdown | GameMarkdown | ValidityMarkdown | BenchMarkdown | RealMarkdown
            | RealBenchMarkdown | PlantedMarkdown => Format::Markdown,
            CheckJunit => Format::JunitXml,
            ReportHtml => Format::Html,
        }
    }

    /// The file whose path is `path` (relative, `/`-separated), if any.
    pub fn from_path(path: &str) -> Option<ResultFile> {
        ResultFile::ALL.into_iter().find(|f| f.path() == path)
    }
}

/// A folder of many files owned by one stage: SAELens job folders
/// (`<dir>/<job id>/cfg.json`, `sae_weights.safetensors`, `eval.json`)
/// and criterion's output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ResultDir {
    /// `saes/`: `rdpbench train`'s job folders (and `saes/.partial/`, the
    /// SDK's unvouched resume checkpoints).
    TrainSaes,
    /// `validity-saes/`: the validity population's job folders plus that
    /// sweep's own `train.json`/`train.csv`.
    ValiditySaes,
    /// `real-saes/`: `rdpbench real`'s job folders.
    RealSaes,
    /// `bench/saes/`: the SAEs `rdpbench bench` trains to time metrics on.
    BenchSaes,
    /// `bench/criterion/`: criterion's own output and `criterion.log`.
    BenchCriterion,
    /// `real-bench/bench/criterion/`: criterion's output for `real_bench`.
    RealBenchCriterion,
    /// `planted-saes/`: `rdpbench planted`'s job folders.
    PlantedSaes,
    /// `cases/`: `rdpbench check`'s smallest failing cases, one TOML file
    /// per failed condition, for `rdpbench check --replay`.
    CheckCases,
}

impl ResultDir {
    /// Every result folder.
    pub const ALL: [ResultDir; 8] = [
        ResultDir::CheckCases,
        ResultDir::TrainSaes,
        ResultDir::ValiditySaes,
        ResultDir::RealSaes,
        ResultDir::BenchSaes,
        ResultDir::BenchCriterion,
        ResultDir::RealBenchCriterion,
        ResultDir::PlantedSaes,
    ];

    /// The path relative to the results folder, `/`-separated.
    pub fn path(self) -> &'static str {
        match self {
            ResultDir::TrainSaes => "saes",
            ResultDir::ValiditySaes => "validity-saes",
            ResultDir::RealSaes => "real-saes",
            ResultDir::BenchSaes => "bench/saes",
            ResultDir::BenchCriterion => "bench/criterion",
            ResultDir::RealBenchCriterion => "real-bench/bench/criterion",
            ResultDir::CheckCases => "cases",
            ResultDir::PlantedSaes => "planted-saes",
        }
    }

    /// The stage that writes into it.
    pub fn stage(self) -> Stage {
        match self {
            ResultDir::TrainSaes => Stage::Train,
            ResultDir::ValiditySaes => Stage::Validity,
            ResultDir::RealSaes => Stage::Real,
            ResultDir::BenchSaes | ResultDir::BenchCriterion => Stage::Bench,
            ResultDir::RealBenchCriterion => Stage::RealBench,
            ResultDir::CheckCases => Stage::Check,
            ResultDir::PlantedSaes => Stage::Planted,
        }
    }
}

/// The manifest, relative to the results folder.
pub const MANIFEST_FILE: &str = "run.json";
/// The folder of sharded stages' partial results (`--shard i/n`), not
/// vouched for: `rdpbench merge` reads it and writes the stage's own files.
pub const SHARDS_DIR: &str = "shards";

/// The shard folder of the stage named `stage`, relative to the results
/// folder: `shards/<stage>` (job records, SAE folders, completion markers
/// and the Slurm scripts of that stage).
pub fn shard_path(stage: &str) -> String {
    format!("{SHARDS_DIR}/{stage}")
}

/// The lock file, relative to the results folder.
pub const LOCK_FILE: &str = ".rdpbench.lock";
/// The staging folder (inside the results folder, so renames out of it
/// stay on one file system).
pub const STAGING_DIR: &str = ".staging";
/// The SAELens file names inside a job folder.
pub const SAE_CFG_FILE: &str = "cfg.json";
/// See [`SAE_CFG_FILE`].
pub const SAE_WEIGHTS_FILE: &str = "sae_weights.safetensors";
/// The per-job toy evaluation the sweep writes into each job folder.
pub const SAE_EVAL_FILE: &str = "eval.json";
/// The resume-checkpoint folder inside a sweep folder (not vouched).
pub const PARTIAL_DIR: &str = ".partial";
/// criterion's console log inside a criterion folder.
pub const CRITERION_LOG: &str = "criterion.log";

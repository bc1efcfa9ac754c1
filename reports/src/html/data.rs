//! [`ReportData`]: everything the HTML report shows, as plain serializable
//! data. Built in Rust (`build.rs`) from the stored results; drawn by the
//! tera templates in the top-level `reports/` folder, which do no arithmetic.
//!
//! Every string here may come from a plugin (ids, descriptions, reasons,
//! evidence labels); the template never marks any of them safe, so tera's
//! autoescaping of `.html` templates turns them into text.

use super::chart::Chart;
use serde::Serialize;

/// The whole report.
#[derive(Debug, Clone, Serialize)]
pub struct ReportData {
    pub title: String,
    /// How the leaderboard is ordered, in one sentence.
    pub leaderboard_order: &'static str,
    /// `rdpbench <version>`, the page's generator.
    pub generator: String,
    /// Where the check results came from; `None` without them.
    pub run: Option<RunInfo>,
    /// Why there are no check results (`check failed: …`), when there are none.
    pub check_missing: Option<String>,
    /// Each stage's status from the folder's `run.json`.
    pub stages: Vec<super::inputs::StageLine>,
    /// Status classes and what they mean, for the color legend.
    pub legend: Vec<LegendEntry>,
    /// Column headers of the condition matrix, `C1`…`C11`.
    pub conditions: Vec<ConditionHeader>,
    pub leaderboard: Leaderboard,
    pub matrix: Vec<MatrixRow>,
    /// Every failing (condition, family) summary, one line each.
    pub failures: Vec<FailureLine>,
    /// The by-construction ladder checks; `None` when the run has none.
    pub ground_truth: Option<GroundTruth>,
    /// Sections fed by other commands' results, present or not: each either
    /// carries its tables and charts or says which input it needs.
    pub extra_sections: Vec<ExtraSection>,
}

/// Where the results came from.
#[derive(Debug, Clone, Serialize)]
pub struct RunInfo {
    pub tool: String,
    pub tool_version: String,
    pub schema_version: u32,
    pub seeds: String,
    pub n_samples: usize,
    pub bootstrap_resamples: usize,
    pub confidence: String,
    /// The toy configuration as `key = value` lines (dotted keys).
    pub toy: Vec<KeyValue>,
    pub plugins: Vec<PluginRow>,
    pub plugin_errors: Vec<PluginErrorRow>,
}

#[derive(Debug, Clone, Serialize)]
pub struct KeyValue {
    pub key: String,
    pub value: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct PluginRow {
    /// File name of the library.
    pub file: String,
    /// Full path (shown on hover).
    pub path: String,
    pub sha256_short: String,
    pub sha256: String,
    pub sdk_version: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct PluginErrorRow {
    pub path: String,
    pub message: String,
}

/// One status of the legend: its CSS class, its word and its meaning.
#[derive(Debug, Clone, Serialize)]
pub struct LegendEntry {
    pub class: &'static str,
    pub word: &'static str,
    pub meaning: &'static str,
}

#[derive(Debug, Clone, Serialize)]
pub struct ConditionHeader {
    pub id: String,
    pub name: String,
}

/// The metric leaderboard. Optional columns show only when some row has a
/// value for them.
#[derive(Debug, Clone, Serialize)]
pub struct Leaderboard {
    pub rows: Vec<LeaderRow>,
    pub show_validity: bool,
    pub show_runtime: bool,
    pub show_gameability: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct LeaderRow {
    /// Rank among non-oracle metrics; `None` for oracles.
    pub rank: Option<usize>,
    pub metric: String,
    pub oracle: bool,
    pub description: String,
    pub orientation: String,
    pub inputs: String,
    /// Conditions whose every summary passed (or held vacuously).
    pub passed: usize,
    /// Conditions run for this metric.
    pub checked: usize,
    /// Conditions failed only on ladder families the metric is blind to.
    pub blind: usize,
    /// Conditions failed (not only blind) or errored.
    pub failed: usize,
    pub vacuous: usize,
    pub not_applicable: usize,
    /// Conditions whose worst summary is inconclusive.
    pub inconclusive: usize,
    pub errors: usize,
    /// Spearman ρ between the metric and P_gt on trained SAEs, as shown.
    pub validity_rho: Option<String>,
    /// How the validity ρ counts in the order.
    pub validity: Option<ValidityVerdict>,
    /// Best improvement found by `rdpbench game`, in the metric's unit steps.
    pub gameability: Option<String>,
    /// Median time per call at the largest benchmarked size (`bench.json`).
    pub runtime: Option<String>,
    /// Fitted scaling exponents, e.g. `N^1.02 · d_sae^0.98` (`bench.json`).
    pub scaling: Option<String>,
}

/// Validity as a check: Spearman's ρ with P_gt on trained SAEs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ValidityVerdict {
    /// The interval of ρ lies above 0.
    Positive,
    /// ρ ≤ 0 (or undefined).
    NotPositive,
    /// ρ > 0 but its interval reaches 0 (or has none).
    Undecided,
}

impl ValidityVerdict {
    /// From ρ and its interval.
    pub fn of(rho: Option<f64>, ci: Option<[f64; 2]>) -> Self {
        match (rho, ci) {
            (Some(r), _) if r <= 0.0 => Self::NotPositive,
            (None, _) => Self::NotPositive,
            (Some(_), Some([lo, _])) if lo > 0.0 => Self::Positive,
            _ => Self::Undecided,
        }
    }
}

/// One metric's row of the condition matrix.
#[derive(Debug, Clone, Serialize)]
pub struct MatrixRow {
    pub metric: String,
    pub oracle: bool,
    pub cells: Vec<MatrixCell>,
}

/// One metric × condition cell: one chip per ladder family (C1, C2) or one.
#[derive(Debug, Clone, Serialize)]
pub struct MatrixCell {
    pub condition: String,
    pub condition_name: String,
    pub chips: Vec<Chip>,
    /// The cell sits in the right half of the table: its evidence panel
    /// opens leftwards.
    pub right: bool,
}

/// One (condition, family) summary with its verdicts, per seed.
#[derive(Debug, Clone, Serialize)]
pub struct Chip {
    /// CSS class and legend key: pass, fail, blind, na, vacuous, error.
    pub class: &'static str,
    /// Short text shown in the cell.
    pub label: String,
    /// The ladder family (`AND`, `OR`, `growing`), if any.
    pub family: Option<String>,
    pub status: String,
    pub reason: String,
    pub verdicts: Vec<VerdictView>,
}

/// One verdict (one seed) and the comparisons behind it.
#[derive(Debug, Clone, Serialize)]
pub struct VerdictView {
    pub scope: String,
    pub class: &'static str,
    pub status: String,
    pub reason: String,
    pub tolerance: Option<String>,
    pub evidence: Vec<EvidenceRow>,
}

/// One measured comparison, numbers already formatted (`–` when undefined).
#[derive(Debug, Clone, Serialize)]
pub struct EvidenceRow {
    pub label: String,
    pub lhs: String,
    pub rhs: String,
    pub diff: String,
    pub ci: String,
    pub bias: String,
    pub p_value: String,
    pub allowed: String,
    pub n_resamples: String,
    pub samples_needed: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct FailureLine {
    pub metric: String,
    pub oracle: bool,
    /// Empty when the reason already names the condition.
    pub condition: String,
    pub class: &'static str,
    pub reason: String,
    /// The smallest failing case found, described ("C6 fails already with
    /// 2 concepts, N = 16, seed 0: …"), and its file.
    pub minimal_case: Option<String>,
    pub case_file: Option<String>,
}

/// The ground-truth ladders: P_gt per rung per family, L0 savings against
/// the analytic count.
#[derive(Debug, Clone, Serialize)]
pub struct GroundTruth {
    /// Seeds, in column order.
    pub seeds: Vec<u64>,
    pub families: Vec<LadderTable>,
    /// P_gt per rung, one line per family.
    pub chart: Chart,
    /// Every AND-built rung's measured L0 saving equals the analytic count.
    pub all_savings_match: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct LadderTable {
    pub family: String,
    /// Whether the family is built of AND merges (the analytic L0 saving applies).
    pub and_built: bool,
    pub rungs: Vec<LadderRungRow>,
}

#[derive(Debug, Clone, Serialize)]
pub struct LadderRungRow {
    pub rung: usize,
    /// The merges of this rung, e.g. `AND{0,1,2,3}`; `M` for rung 0.
    pub merges: String,
    /// Whether the merges differ between seeds (then `merges` is seed 0's).
    pub merges_vary: bool,
    /// One cell per seed, in [`GroundTruth::seeds`] order.
    pub seeds: Vec<LadderSeedCell>,
}

#[derive(Debug, Clone, Serialize)]
pub struct LadderSeedCell {
    pub p_gt: String,
    pub total_l0: usize,
    pub l0_saving: i64,
    /// `None` for OR-built families, where no analytic count applies.
    pub analytic_l0_saving: Option<u64>,
    /// Measured equals analytic (always true where no analytic count applies).
    pub matches: bool,
}

/// A section fed by results other than `check.json`.
#[derive(Debug, Clone, Serialize)]
pub struct ExtraSection {
    pub id: &'static str,
    pub title: &'static str,
    /// `None`: the input is missing; `needs` says what produces it.
    pub content: Option<SectionContent>,
    pub needs: &'static str,
}

/// The body of a present extra section: tables and charts.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SectionContent {
    pub intro: String,
    pub tables: Vec<Table>,
    pub charts: Vec<Chart>,
}

/// A generic table of formatted cells.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Table {
    pub caption: String,
    pub columns: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

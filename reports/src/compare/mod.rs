//! `rdpbench compare A B`: what changed between two runs. Three sections,
//! each present when both runs carry its file:
//! - verdicts (`check.json`), per metric × condition × ladder family. Lost
//!   and gained conditions come from [`rdpbench_schema::results::check::compare`] (the same
//!   rule as `check --baseline`); every other status change is listed too;
//! - validity (`validity.json`): ρ deltas with the interval-overlap noise
//!   band of [`validity`];
//! - runtime (`bench.json`): median ratios with the interval-and-threshold
//!   significance rule of [`runtime`];
//! - eval (`eval.json`): every SAE's numbers, with the rule of [`eval`].
//!
//! A run is a results folder (every file of the three it holds) or one of
//! the files. Rendered by `text.rs` (terminal) and `markdown.rs`.

pub mod eval;
mod markdown;
pub mod runtime;
mod text;
pub mod validity;

pub use markdown::render_markdown;
pub use runtime::{
    DEFAULT_NOISE_THRESHOLD, RuntimeChange, RuntimeComparison, RuntimeDelta, compare_runtime,
};
pub use text::render_text;
pub use validity::{RhoChange, RhoDelta, ValidityComparison, compare_validity};

use rdpbench_schema::results::bench::BenchRun;
use rdpbench_schema::results::check::{
    AllowMissing, CheckRun, Comparison, MissingPass, VerdictChange, compare_allowing,
};
use rdpbench_schema::results::eval::EvalRun;
use rdpbench_schema::results::validity::ValidityRun;

/// The names a single results file is recognised by (the store's).
const CHECK_FILE: &str = "check.json";
const VALIDITY_FILE: &str = "validity.json";
const BENCH_FILE: &str = "bench.json";
const EVAL_FILE: &str = "eval.json";

#[test]
fn file_names_are_the_stores() {
    use rdpbench_store::ResultFile;
    assert_eq!(CHECK_FILE, ResultFile::CheckJson.path());
    assert_eq!(VALIDITY_FILE, ResultFile::ValidityJson.path());
    assert_eq!(BENCH_FILE, ResultFile::BenchJson.path());
    assert_eq!(EVAL_FILE, ResultFile::EvalJson.path());
}
use anyhow::{Result, bail};
use rdpbench_core::conditions::{ConditionId, ConditionSummary, Status};
use rdpbench_core::toy::LadderFamily;
use serde::Serialize;
use std::path::Path;

/// How one (metric, condition, family) summary changed from A to B.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    /// Passed in A, fails or errors in B: a regression.
    Lost,
    /// Failed or errored in A, passes in B.
    Gained,
    /// Any other change (e.g. pass → inconclusive, pass → vacuous, fail →
    /// error, run in one only).
    Changed,
}

impl ChangeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::Lost => "LOST",
            ChangeKind::Gained => "gained",
            ChangeKind::Changed => "changed",
        }
    }
}

/// One changed summary.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChangeRow {
    pub kind: ChangeKind,
    pub metric: String,
    pub oracle: bool,
    pub condition: ConditionId,
    pub family: Option<LadderFamily>,
    /// Status in A and in B; `None` where the run did not check it.
    pub before: Option<Status>,
    pub after: Option<Status>,
    /// B's reason (A's where B has none).
    pub reason: String,
}

/// Everything `rdpbench compare` reports.
#[derive(Debug, Clone, Serialize)]
pub struct CompareData {
    pub a: String,
    pub b: String,
    /// Lost, then gained, then other changes; each by metric and condition.
    pub rows: Vec<ChangeRow>,
    /// Metrics in A that B did not check.
    pub missing_metrics: Vec<String>,
    /// Metrics B checked that A did not.
    pub new_metrics: Vec<String>,
    /// Differences in how the runs were made (settings, toy, plugin files),
    /// and sections one run lacks.
    pub notes: Vec<String>,
    /// Whether both runs had `check.json` (else the verdict fields are empty).
    pub verdicts_compared: bool,
    /// ρ deltas, when both runs have `validity.json`.
    pub validity: Option<ValidityComparison>,
    /// Runtime deltas, when both runs have `bench.json`.
    pub runtime: Option<RuntimeComparison>,
    /// SAE number deltas, when both runs have `eval.json`.
    pub eval: Option<eval::EvalComparison>,
}

impl CompareData {
    pub fn lost(&self) -> usize {
        self.count(ChangeKind::Lost)
    }
    pub fn gained(&self) -> usize {
        self.count(ChangeKind::Gained)
    }
    pub fn count(&self, kind: ChangeKind) -> usize {
        self.rows.iter().filter(|r| r.kind == kind).count()
    }
    /// Whether B lost a condition A passed (exit 5).
    pub fn has_regressions(&self) -> bool {
        self.lost() > 0
    }
    /// Metrics whose ρ dropped beyond the noise band (0 without validity).
    pub fn rho_drops(&self) -> usize {
        self.validity
            .as_ref()
            .map_or(0, ValidityComparison::dropped)
    }
    /// (metric, size) rows significantly slower in B (0 without bench).
    pub fn slowdowns(&self) -> usize {
        self.runtime.as_ref().map_or(0, RuntimeComparison::slower)
    }
}

/// The results one side of a comparison carries.
#[derive(Debug, Clone)]
pub struct RunFiles {
    /// How the run is named in the output (the path given).
    pub label: String,
    pub check: Option<CheckRun>,
    pub validity: Option<ValidityRun>,
    pub bench: Option<BenchRun>,
    pub eval: Option<EvalRun>,
}

impl RunFiles {
    /// Reads a results folder (each of `check.json`, `validity.json`,
    /// `bench.json` that its `run.json` vouches for) or a single results
    /// file (by its name: `validity.json`, `bench.json`, anything else is
    /// read as check results). Errors name the file; a folder with none of
    /// the three is an error.
    pub fn load(path: &Path) -> Result<Self> {
        let label = path.display().to_string();
        let mut run = Self {
            label,
            check: None,
            validity: None,
            bench: None,
            eval: None,
        };
        if path.is_dir() {
            let inputs = crate::html::ReportInputs::load(path)?;
            run.check = inputs.check;
            run.validity = inputs.validity;
            run.bench = inputs.bench;
            run.eval = inputs.eval;
            if run.check.is_none()
                && run.validity.is_none()
                && run.bench.is_none()
                && run.eval.is_none()
            {
                bail!(
                    "{}: its run.json vouches for no {CHECK_FILE}, {VALIDITY_FILE}, {BENCH_FILE} or {EVAL_FILE}",
                    path.display()
                );
            }
        } else {
            match path.file_name().and_then(|n| n.to_str()) {
                Some(VALIDITY_FILE) => run.validity = Some(ValidityRun::load(path)?),
                Some(BENCH_FILE) => run.bench = Some(BenchRun::load(path)?),
                Some(EVAL_FILE) => run.eval = Some(EvalRun::load(path)?),
                _ => run.check = Some(CheckRun::load(path)?),
            }
        }
        Ok(run)
    }

    fn has(&self) -> [(&'static str, bool); 4] {
        [
            (CHECK_FILE, self.check.is_some()),
            (VALIDITY_FILE, self.validity.is_some()),
            (BENCH_FILE, self.bench.is_some()),
            (EVAL_FILE, self.eval.is_some()),
        ]
    }
}

/// Compares every section both runs carry; `noise_threshold` is the
/// runtime rule's `t`; `allow` names what may be missing from B without
/// counting as lost. Errors when the runs share no kind of results.
pub fn compare_runs(
    a: &RunFiles,
    b: &RunFiles,
    noise_threshold: f64,
    allow: &AllowMissing,
) -> Result<CompareData> {
    let mut d = match (&a.check, &b.check) {
        (Some(ca), Some(cb)) => diff(ca, cb, &a.label, &b.label, allow),
        _ => CompareData {
            a: a.label.clone(),
            b: b.label.clone(),
            rows: Vec::new(),
            missing_metrics: Vec::new(),
            new_metrics: Vec::new(),
            notes: Vec::new(),
            verdicts_compared: false,
            validity: None,
            runtime: None,
            eval: None,
        },
    };
    if let (Some(va), Some(vb)) = (&a.validity, &b.validity) {
        d.validity = Some(compare_validity(va, vb));
    }
    if let (Some(ba), Some(bb)) = (&a.bench, &b.bench) {
        d.runtime = Some(compare_runtime(ba, bb, noise_threshold));
    }
    if let (Some(ea), Some(eb)) = (&a.eval, &b.eval) {
        d.eval = Some(eval::compare_eval(ea, eb));
    }
    let mut shared = 0;
    for ((file, in_a), (_, in_b)) in a.has().into_iter().zip(b.has()) {
        match (in_a, in_b) {
            (true, true) => shared += 1,
            (true, false) => d.notes.push(format!("{file} only in A: not compared")),
            (false, true) => d.notes.push(format!("{file} only in B: not compared")),
            (false, false) => {}
        }
    }
    if shared == 0 {
        bail!(
            "{} and {} share no kind of results ({CHECK_FILE}, {VALIDITY_FILE}, {BENCH_FILE}, {EVAL_FILE}): nothing to compare",
            a.label,
            b.label
        );
    }
    Ok(d)
}

fn row(kind: ChangeKind, c: &VerdictChange, oracle: bool) -> ChangeRow {
    ChangeRow {
        kind,
        metric: c.metric.clone(),
        oracle,
        condition: c.condition,
        family: c.family,
        before: Some(c.before),
        after: Some(c.after),
        reason: c.reason.clone(),
    }
}

fn summary_of<'a>(
    run: &'a CheckRun,
    metric: &str,
    s: &ConditionSummary,
) -> Option<&'a ConditionSummary> {
    run.metrics
        .iter()
        .find(|m| m.report.spec.id == metric)?
        .report
        .summary
        .iter()
        .find(|x| x.condition == s.condition && x.family == s.family)
}

fn missing_row(kind: ChangeKind, m: &MissingPass, oracle: bool, allowed: bool) -> ChangeRow {
    ChangeRow {
        kind,
        metric: m.metric.clone(),
        oracle,
        condition: m.condition,
        family: m.family,
        before: Some(Status::Pass),
        after: None,
        reason: if allowed {
            format!("not checked in B ({}; allowed by --allow-missing)", m.why)
        } else {
            format!("not checked in B: {}", m.why)
        },
    }
}

/// Compares run `a` (before) with run `b` (after); `a_name` and `b_name`
/// label them in the output. A condition A passed that B did not check is
/// lost unless `allow` names its metric or condition.
pub fn diff(
    a: &CheckRun,
    b: &CheckRun,
    a_name: &str,
    b_name: &str,
    allow: &AllowMissing,
) -> CompareData {
    // Moves to or from inconclusive are listed with the other changes.
    let Comparison {
        lost,
        lost_missing,
        allowed_missing,
        gained,
        missing_metrics,
        ..
    } = compare_allowing(a, b, false, allow);
    let is_oracle = |id: &str| {
        a.metrics
            .iter()
            .chain(&b.metrics)
            .any(|m| m.report.spec.id == id && m.oracle)
    };
    let mut rows: Vec<ChangeRow> = lost
        .iter()
        .map(|c| row(ChangeKind::Lost, c, is_oracle(&c.metric)))
        .chain(
            gained
                .iter()
                .map(|c| row(ChangeKind::Gained, c, is_oracle(&c.metric))),
        )
        .chain(
            lost_missing
                .iter()
                .map(|m| missing_row(ChangeKind::Lost, m, is_oracle(&m.metric), false)),
        )
        .chain(
            allowed_missing
                .iter()
                .map(|m| missing_row(ChangeKind::Changed, m, is_oracle(&m.metric), true)),
        )
        .collect();
    let listed = |rows: &[ChangeRow], metric: &str, s: &ConditionSummary| {
        rows.iter()
            .any(|r| r.metric == metric && r.condition == s.condition && r.family == s.family)
    };
    // Other changes: status differs, or checked in one run only.
    for (run, other, a_side) in [(a, b, true), (b, a, false)] {
        for m in &run.metrics {
            let id = &m.report.spec.id;
            if !other.metrics.iter().any(|o| &o.report.spec.id == id) {
                continue;
            }
            for s in &m.report.summary {
                if listed(&rows, id, s) {
                    continue;
                }
                let o = summary_of(other, id, s);
                if o.is_some_and(|o| o.status == s.status) {
                    continue;
                }
                if !a_side && o.is_some() {
                    continue; // seen from A's side already
                }
                let (before, after) = if a_side {
                    (Some(s.status), o.map(|o| o.status))
                } else {
                    (None, Some(s.status))
                };
                let reason = if a_side {
                    o.map_or_else(
                        || format!("not checked in B (A: {})", s.reason),
                        |o| o.reason.clone(),
                    )
                } else {
                    s.reason.clone()
                };
                rows.push(ChangeRow {
                    kind: ChangeKind::Changed,
                    metric: id.clone(),
                    oracle: m.oracle,
                    condition: s.condition,
                    family: s.family,
                    before,
                    after,
                    reason,
                });
            }
        }
    }
    rows.sort_by(|x, y| {
        (x.kind, &x.metric, x.condition, x.family.map(|f| f as u8)).cmp(&(
            y.kind,
            &y.metric,
            y.condition,
            y.family.map(|f| f as u8),
        ))
    });
    let new_metrics = b
        .metrics
        .iter()
        .map(|m| m.report.spec.id.clone())
        .filter(|id| !a.metrics.iter().any(|m| &m.report.spec.id == id))
        .collect();
    CompareData {
        a: a_name.to_string(),
        b: b_name.to_string(),
        rows,
        missing_metrics,
        new_metrics,
        notes: notes(a, b),
        verdicts_compared: true,
        validity: None,
        runtime: None,
        eval: None,
    }
}

/// How the runs differ in what produced them.
fn notes(a: &CheckRun, b: &CheckRun) -> Vec<String> {
    let mut out = Vec::new();
    if a.tool_version != b.tool_version {
        out.push(format!(
            "rdpbench version differs: {} vs {}",
            a.tool_version, b.tool_version
        ));
    }
    if a.settings != b.settings {
        let (sa, sb) = (&a.settings, &b.settings);
        let mut what = Vec::new();
        if sa.seeds != sb.seeds {
            what.push(format!("seeds {:?} vs {:?}", sa.seeds, sb.seeds));
        }
        if sa.n_samples != sb.n_samples {
            what.push(format!("N {} vs {}", sa.n_samples, sb.n_samples));
        }
        if what.is_empty() {
            what.push("other [check] settings".into());
        }
        out.push(format!("check settings differ: {}", what.join(", ")));
    }
    if a.toy != b.toy {
        out.push("toy model configuration differs".into());
    }
    for m in &b.metrics {
        if let Some(old) = a
            .metrics
            .iter()
            .find(|o| o.report.spec.id == m.report.spec.id)
            && old.sha256 != m.sha256
        {
            out.push(format!(
                "metric `{}`: plugin library changed (sha256 {}… → {}…)",
                m.report.spec.id,
                &old.sha256.get(..12).unwrap_or(&old.sha256),
                &m.sha256.get(..12).unwrap_or(&m.sha256)
            ));
        }
    }
    out
}

/// A status as shown in comparison tables (`–` when not checked).
pub(crate) fn status_text(s: Option<Status>) -> &'static str {
    s.map_or("–", Status::as_str)
}

/// `C1 (AND)`, or `C3`.
pub(crate) fn condition_text(r: &ChangeRow) -> String {
    match r.family {
        Some(f) => format!("{} ({f})", r.condition),
        None => r.condition.to_string(),
    }
}

/// ρ with 3 decimals (`–` when undefined).
pub(crate) fn format_rho(rho: Option<f64>) -> String {
    rho.map_or("–".into(), |r| format!("{r:.3}"))
}

/// An interval `[lo, hi]` with 2 decimals (`–` when undefined).
pub(crate) fn format_ci(ci: Option<[f64; 2]>) -> String {
    ci.map_or("–".into(), |[lo, hi]| format!("[{lo:.2}, {hi:.2}]"))
}

/// A signed difference with 3 decimals (`–` when undefined).
pub(crate) fn format_delta(d: Option<f64>) -> String {
    d.map_or("–".into(), |d| format!("{d:+.3}"))
}

/// A median with its interval's half-width relative to it: `1.23 ms ±2%`;
/// `–` for a missing side, `not timed` for one without a median.
pub(crate) fn format_time(t: Option<&runtime::TimingSide>) -> String {
    let Some(t) = t else { return "–".into() };
    let Some(m) = t.median_ns else {
        return "not timed".into();
    };
    match t.ci_ns {
        Some([lo, hi]) if m > 0.0 => format!(
            "{} ±{:.0}%",
            crate::bench::format_ns(m),
            100.0 * (hi - lo) / (2.0 * m)
        ),
        _ => crate::bench::format_ns(m),
    }
}

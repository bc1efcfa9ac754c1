//! `rdpbench compare A B`: what changed between two check runs, per metric
//! × condition × ladder family. Lost and gained conditions come from
//! [`crate::results::compare`] (the same rule as `check --baseline`); every
//! other status change is listed too. Rendered by `text.rs` (terminal) and
//! `markdown.rs`.

mod markdown;
mod text;

pub use markdown::render_markdown;
pub use text::render_text;

use crate::results::{CheckRun, Comparison, VerdictChange, compare};
use rdpbench_core::conditions::{ConditionId, ConditionSummary, Status};
use rdpbench_core::toy::LadderFamily;
use serde::Serialize;

/// How one (metric, condition, family) summary changed from A to B.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    /// Passed in A, fails or errors in B: a regression.
    Lost,
    /// Failed or errored in A, passes in B.
    Gained,
    /// Any other change (e.g. pass → vacuous, fail → error, run in one only).
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
    /// Differences in how the runs were made (settings, toy, plugin files).
    pub notes: Vec<String>,
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

/// Compares run `a` (before) with run `b` (after); `a_name` and `b_name`
/// label them in the output.
pub fn diff(a: &CheckRun, b: &CheckRun, a_name: &str, b_name: &str) -> CompareData {
    let Comparison {
        lost,
        gained,
        missing_metrics,
    } = compare(a, b);
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

//! The results of a `rdpbench check` run, as persisted (`check.json`), and
//! the comparison of a run with a baseline.
//!
//! The JSON holds no timestamps and no durations, so two runs with the same
//! configuration, seeds and plugin files are byte-identical.

pub use crate::results::plugin_error::{PluginError, PluginErrorKind};
use rdpbench_core::conditions::{
    CheckSettings, ConditionId, ConditionSummary, MetricReport, Status, summarize,
};
use rdpbench_core::toy::{LadderFamily, LadderReport, ToyConfig};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// Version of the `check.json` layout; bumped on incompatible changes.
/// 2: conditions spec v2 (the `inconclusive` status, C1/C2 pooled over seeds
/// with one verdict per family, the absorption ladder, basic-bootstrap
/// bounds with `bias`, `p_value` and `samples_needed` in the evidence).
pub const SCHEMA_VERSION: u32 = 2;

/// One plugin library used by the run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PluginRecord {
    pub path: PathBuf,
    pub sha256: String,
    pub sdk_version: String,
}

/// One metric's results, with where it came from.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MetricResult {
    /// The library that provided it.
    pub library: PathBuf,
    pub sha256: String,
    pub oracle: bool,
    #[serde(flatten)]
    pub report: MetricReport,
    /// The smallest failing case found for each failed condition.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub minimal_cases: Vec<MinimalCase>,
}

/// A failed condition shrunk to its smallest failing case
/// ([`rdpbench_core::shrink`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MinimalCase {
    /// The case file, relative to the results folder (`cases/….toml`).
    pub file: String,
    /// Conditions runs the search spent.
    pub trials: usize,
    /// The safety time cap ended the search (the case may then differ
    /// between machines).
    pub timed_out: bool,
    pub case: rdpbench_core::shrink::CaseFile,
}

impl MinimalCase {
    /// "C6 fails already with 2 concepts, N = 24, seed 0: <reason>".
    pub fn describe(&self) -> String {
        let fam = self
            .case
            .family
            .map(|f| format!(" on the {f} ladder"))
            .unwrap_or_default();
        format!(
            "{}{fam} fails already with {}: {}",
            self.case.condition,
            self.case.size(),
            self.case.reason
        )
    }

    /// The case file's name: `cases/<metric>-<condition>[-<family>].toml`.
    pub fn file_name(metric: &str, case: &rdpbench_core::shrink::CaseFile) -> String {
        let safe: String = metric
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let fam = case
            .family
            .map(|f| format!("-{}", f.name()))
            .unwrap_or_default();
        format!("{safe}-{}{fam}.toml", case.condition)
    }
}

/// The by-construction checks of one seed's ladders (P_gt per rung, L0 savings).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SeedLadders {
    pub seed: u64,
    pub ladders: Vec<LadderReport>,
}

/// A whole `rdpbench check` run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CheckRun {
    pub schema_version: u32,
    pub tool: String,
    pub tool_version: String,
    pub settings: CheckSettings,
    pub toy: ToyConfig,
    pub plugins: Vec<PluginRecord>,
    pub plugin_errors: Vec<PluginError>,
    pub ground_truth: Vec<SeedLadders>,
    pub metrics: Vec<MetricResult>,
}

impl CheckRun {
    /// Reads a stored `check.json`, refusing other schema versions.
    pub fn load(path: &std::path::Path) -> anyhow::Result<Self> {
        use anyhow::Context;
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read results file {}", path.display()))?;
        Self::parse(&text, &path.display().to_string())
    }

    /// Parses a `check.json`'s text; `origin` (a path) names it in errors.
    pub fn parse(text: &str, origin: &str) -> anyhow::Result<Self> {
        use anyhow::Context;
        let head = super::versioned_json(text, origin, SCHEMA_VERSION, |version| {
            if version == Some(1) {
                " (version 1 predates conditions spec v2, whose verdicts differ: rerun \
                 `rdpbench check` to make a new baseline)"
            } else {
                ""
            }
        })?;
        let run: Self = serde_json::from_value(head)
            .with_context(|| format!("{origin} is not an rdpbench check result"))?;
        run.verify_summaries(origin)?;
        Ok(run)
    }

    /// Recomputes every metric's condition summaries from its verdicts
    /// ([`rdpbench_core::conditions::summarize`]) and refuses a run whose
    /// stored summaries disagree in (condition, family, status): a gate
    /// must never trust a summary its verdicts do not support.
    pub fn verify_summaries(&self, origin: &str) -> anyhow::Result<()> {
        for m in &self.metrics {
            let key = |s: &ConditionSummary| (s.condition, s.family, s.status);
            let stored: Vec<_> = m.report.summary.iter().map(key).collect();
            let recomputed: Vec<_> = summarize(&m.report.verdicts).iter().map(key).collect();
            if stored != recomputed {
                let shown = |v: &[(ConditionId, Option<LadderFamily>, Status)]| {
                    v.iter()
                        .map(|(c, f, s)| {
                            let f = f.map(|f| format!(" ({f})")).unwrap_or_default();
                            format!("{c}{f} {}", s.as_str())
                        })
                        .collect::<Vec<_>>()
                        .join(", ")
                };
                anyhow::bail!(
                    "{origin}: metric `{}`: its stored summary [{}] disagrees with its verdicts, \
                     which give [{}]; the file was edited or is damaged, refusing to use it",
                    m.report.spec.id,
                    shown(&stored),
                    shown(&recomputed)
                );
            }
        }
        Ok(())
    }

    /// A run with no settings' effect: no metrics, no ladders, no plugins
    /// (what a report builds on when there are no check results).
    pub fn empty() -> Self {
        Self {
            schema_version: SCHEMA_VERSION,
            tool: "rdpbench".into(),
            tool_version: crate::VERSION.into(),
            settings: CheckSettings::default(),
            toy: ToyConfig::default(),
            plugins: Vec::new(),
            plugin_errors: Vec::new(),
            ground_truth: Vec::new(),
            metrics: Vec::new(),
        }
    }

    /// Whether any plugin failed to load or any verdict errored.
    pub fn has_plugin_errors(&self) -> bool {
        !self.plugin_errors.is_empty()
            || self
                .metrics
                .iter()
                .any(|m| m.report.verdicts.iter().any(|v| v.status == Status::Error))
    }

    /// Whether any verdict failed (or errored).
    pub fn has_failures(&self) -> bool {
        self.metrics.iter().any(|m| m.report.has_failures())
    }

    /// Whether any verdict is inconclusive (a failure under `--strict`).
    pub fn has_inconclusive(&self) -> bool {
        self.metrics.iter().any(|m| m.report.has_inconclusive())
    }
}

/// A change of one (metric, condition, family) summary between two runs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VerdictChange {
    pub metric: String,
    pub condition: ConditionId,
    pub family: Option<LadderFamily>,
    pub before: Status,
    pub after: Status,
    /// The new reason (why it fails now).
    pub reason: String,
}

impl VerdictChange {
    pub fn describe(&self) -> String {
        let fam = self.family.map(|f| format!(" ({f})")).unwrap_or_default();
        format!(
            "{} {}{fam}: {} → {}: {}",
            self.metric,
            self.condition,
            self.before.as_str(),
            self.after.as_str(),
            self.reason
        )
    }
}

/// A (metric, condition, family) the baseline passed that this run has
/// no verdict for: its metric was not checked (or no longer loads), or the
/// condition was not run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MissingPass {
    pub metric: String,
    pub condition: ConditionId,
    pub family: Option<LadderFamily>,
    /// Why it is missing.
    pub why: String,
}

impl MissingPass {
    pub fn describe(&self) -> String {
        let fam = self.family.map(|f| format!(" ({f})")).unwrap_or_default();
        format!(
            "{} {}{fam}: pass → not checked: {}",
            self.metric, self.condition, self.why
        )
    }
}

/// What a comparison may find missing without counting it lost: metric
/// ids and condition ids (`C9`), as named by `--allow-missing`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct AllowMissing(pub Vec<String>);

impl AllowMissing {
    /// Whether `metric`'s `condition` may be missing.
    pub fn covers(&self, metric: &str, condition: ConditionId) -> bool {
        self.0
            .iter()
            .any(|x| x == metric || ConditionId::parse(x) == Some(condition))
    }
}

/// What changed from `baseline` to `current`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Comparison {
    /// Passed in the baseline, fails or errors now.
    pub lost: Vec<VerdictChange>,
    /// Passed in the baseline, not checked now: lost by omission.
    pub lost_missing: Vec<MissingPass>,
    /// Passed in the baseline, not checked now, but excluded by name
    /// ([`AllowMissing`]): reported, not counted.
    pub allowed_missing: Vec<MissingPass>,
    /// Failed in the baseline, passes now.
    pub gained: Vec<VerdictChange>,
    /// Moved to or from inconclusive (not a loss unless `strict`, where a
    /// pass that became inconclusive is in `lost` instead).
    #[serde(default)]
    pub inconclusive: Vec<VerdictChange>,
    /// Metrics in the baseline that this run did not check.
    pub missing_metrics: Vec<String>,
}

impl Comparison {
    /// Whether the current run lost anything the baseline passed, by a
    /// failure or by omission.
    pub fn regressed(&self) -> bool {
        !self.lost.is_empty() || !self.lost_missing.is_empty()
    }
}

/// Compares condition summaries metric by metric. A condition the baseline
/// passed and this run fails (or errors on) is lost: a regression; so is one
/// it passed and this run did not check. Moves to or from inconclusive are
/// listed apart and are not losses.
pub fn compare(baseline: &CheckRun, current: &CheckRun) -> Comparison {
    compare_with(baseline, current, false)
}

/// [`compare`]; with `strict`, a pass that became inconclusive is lost too.
pub fn compare_with(baseline: &CheckRun, current: &CheckRun, strict: bool) -> Comparison {
    compare_allowing(baseline, current, strict, &AllowMissing::default())
}

/// [`compare_with`], where a condition the baseline passed and this run did
/// not check (the metric is missing, its plugin no longer loads, the
/// condition was not selected) is lost too, unless `allow` names the metric
/// or the condition.
pub fn compare_allowing(
    baseline: &CheckRun,
    current: &CheckRun,
    strict: bool,
    allow: &AllowMissing,
) -> Comparison {
    let mut out = Comparison::default();
    for b in &baseline.metrics {
        let id = &b.report.spec.id;
        let c = current.metrics.iter().find(|m| &m.report.spec.id == id);
        if c.is_none() {
            out.missing_metrics.push(id.clone());
        }
        for bs in &b.report.summary {
            let cs = c.and_then(|c| {
                c.report
                    .summary
                    .iter()
                    .find(|s| s.condition == bs.condition && s.family == bs.family)
            });
            let Some(cs) = cs else {
                if bs.status == Status::Pass {
                    let missing = MissingPass {
                        metric: id.clone(),
                        condition: bs.condition,
                        family: bs.family,
                        why: if c.is_none() {
                            "the metric was not checked in this run".into()
                        } else {
                            "the condition was not checked in this run".into()
                        },
                    };
                    if allow.covers(id, bs.condition) {
                        out.allowed_missing.push(missing);
                    } else {
                        out.lost_missing.push(missing);
                    }
                }
                continue;
            };
            let change = VerdictChange {
                metric: b.report.spec.id.clone(),
                condition: bs.condition,
                family: bs.family,
                before: bs.status,
                after: cs.status,
                reason: cs.reason.clone(),
            };
            let (before, after) = (bs.status, cs.status);
            if before == Status::Pass
                && (after.is_failure() || (strict && after == Status::Inconclusive))
            {
                out.lost.push(change);
            } else if before.is_failure() && after == Status::Pass {
                out.gained.push(change);
            } else if before != after
                && (before == Status::Inconclusive || after == Status::Inconclusive)
            {
                out.inconclusive.push(change);
            }
        }
    }
    out
}

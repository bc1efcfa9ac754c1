//! What a condition produces: a verdict with its evidence.

use super::settings::Tolerance;
use crate::toy::LadderFamily;
use serde::{Deserialize, Serialize};

/// A number for a one-line reason: 4 significant digits, scientific
/// notation for very small or large magnitudes, `0` for zero.
pub fn num(x: f64) -> String {
    if x == 0.0 {
        "0".into()
    } else if !x.is_finite() {
        x.to_string()
    } else if x.abs() < 1e-3 || x.abs() >= 1e5 {
        format!("{x:.3e}")
    } else {
        let digits = (3 - x.abs().log10().floor() as i32).clamp(0, 8) as usize;
        format!("{x:.digits$}")
    }
}

/// The necessary conditions of CONDITIONS.md §4.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum ConditionId {
    C1,
    C2,
    C3,
    C4,
    C5,
    C6,
    C7,
    C8,
    C9,
    C10,
    C11,
}

impl ConditionId {
    pub const ALL: [ConditionId; 11] = [
        ConditionId::C1,
        ConditionId::C2,
        ConditionId::C3,
        ConditionId::C4,
        ConditionId::C5,
        ConditionId::C6,
        ConditionId::C7,
        ConditionId::C8,
        ConditionId::C9,
        ConditionId::C10,
        ConditionId::C11,
    ];

    /// The condition's short name.
    pub fn name(self) -> &'static str {
        match self {
            ConditionId::C1 => "monosemantic floor",
            ConditionId::C2 => "monotone in polysemanticity",
            ConditionId::C3 => "permutation invariance",
            ConditionId::C4 => "rescaling invariance",
            ConditionId::C5 => "basis invariance",
            ConditionId::C6 => "dead-latent invariance",
            ConditionId::C7 => "splitting is not mixing",
            ConditionId::C8 => "co-occurrence is not polysemanticity",
            ConditionId::C9 => "sample consistency",
            ConditionId::C10 => "defined everywhere",
            ConditionId::C11 => "density is not polysemanticity",
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ConditionId::C1 => "C1",
            ConditionId::C2 => "C2",
            ConditionId::C3 => "C3",
            ConditionId::C4 => "C4",
            ConditionId::C5 => "C5",
            ConditionId::C6 => "C6",
            ConditionId::C7 => "C7",
            ConditionId::C8 => "C8",
            ConditionId::C9 => "C9",
            ConditionId::C10 => "C10",
            ConditionId::C11 => "C11",
        }
    }

    /// Parses `C1`…`C11` (case-insensitive).
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|c| c.as_str().eq_ignore_ascii_case(s.trim()))
    }
}

impl std::fmt::Display for ConditionId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A verdict's outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Pass,
    Fail,
    /// A margin test (C7, C8, C11) whose interval straddles the margin: the
    /// data neither confirm nor refute the condition at this sample size
    /// (the evidence says what size would resolve it). Shown as `?`; it
    /// fails the run only under `--strict`.
    Inconclusive,
    /// The experiment cannot be run for this metric here (e.g. an encoder
    /// metric on a case without a faithful encoder, or no positive step).
    NotApplicable,
    /// The metric's declared inputs make the condition hold trivially (e.g. a
    /// code-only metric under rotation of the observation space).
    Vacuous,
    /// The metric failed to evaluate (error, panic, non-finite value).
    Error,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Fail => "fail",
            Status::Inconclusive => "inconclusive",
            Status::NotApplicable => "n/a",
            Status::Vacuous => "vacuous",
            Status::Error => "error",
        }
    }

    /// Whether this outcome counts against the metric.
    pub fn is_failure(self) -> bool {
        matches!(self, Status::Fail | Status::Error)
    }

    /// Whether this outcome counts against the metric under `--strict`,
    /// where an inconclusive verdict is a failure too.
    pub fn is_strict_failure(self) -> bool {
        self.is_failure() || self == Status::Inconclusive
    }

    /// Combining verdicts: the more severe outcome wins (error, fail,
    /// inconclusive, pass, vacuous, n/a, in that order).
    pub fn severity(self) -> u8 {
        match self {
            Status::Error => 5,
            Status::Fail => 4,
            Status::Inconclusive => 3,
            Status::Pass => 2,
            Status::Vacuous => 1,
            Status::NotApplicable => 0,
        }
    }
}

/// One measured comparison behind a verdict.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    /// What was compared, e.g. `m(L2) − m(L1)` or `m(permute(seed=3)) vs m(M)`.
    pub label: String,
    /// The two sides (oriented: higher = more polysemantic); `None` when undefined.
    pub lhs: Option<f64>,
    pub rhs: Option<f64>,
    /// `lhs − rhs` on the full data.
    pub diff: Option<f64>,
    /// Bootstrap bound(s) of the paired difference, where statistical:
    /// basic (bias-corrected) bootstrap bounds.
    pub ci_low: Option<f64>,
    pub ci_high: Option<f64>,
    /// The bootstrap bias `mean(resampled differences) − diff`, where
    /// statistical.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bias: Option<f64>,
    /// The test's p-value (for a FAIL claim, before the Holm–Bonferroni
    /// adjustment the verdict applies).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p_value: Option<f64>,
    /// For an inconclusive margin test: the sample size at which an interval
    /// of this width (shrinking as `1/√N`) would resolve it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub samples_needed: Option<u64>,
    /// The allowed gap (tolerance) or the threshold the difference is held to.
    pub allowed: Option<f64>,
    /// Valid bootstrap replicates (both sides defined).
    pub n_resamples: Option<usize>,
}

impl Comparison {
    pub fn exact(label: impl Into<String>, lhs: f64, rhs: f64, allowed: f64) -> Self {
        Self {
            label: label.into(),
            lhs: Some(lhs),
            rhs: Some(rhs),
            diff: Some(lhs - rhs),
            allowed: Some(allowed),
            ..Self::default()
        }
    }
}

/// One condition's verdict for one metric, ladder family and seed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    pub condition: ConditionId,
    /// The ladder family, for the ladder conditions (C1, C2).
    pub family: Option<LadderFamily>,
    /// The toy seed; `None` for conditions run once (C10).
    pub seed: Option<u64>,
    pub status: Status,
    /// The metric reads no decoder, so AND-built merges are invisible to it
    /// by construction: a property of its inputs, reported apart from
    /// failures of metrics that could have seen them.
    pub structurally_blind: bool,
    /// One line: why it passed or failed.
    pub reason: String,
    pub tolerance: Option<Tolerance>,
    pub evidence: Vec<Comparison>,
}

impl Verdict {
    pub fn new(condition: ConditionId, family: Option<LadderFamily>, seed: Option<u64>) -> Self {
        Self {
            condition,
            family,
            seed,
            status: Status::Pass,
            structurally_blind: false,
            reason: String::new(),
            tolerance: None,
            evidence: Vec::new(),
        }
    }

    pub fn with(mut self, status: Status, reason: impl Into<String>) -> Self {
        self.status = status;
        self.reason = reason.into();
        self
    }

    /// Where this verdict was measured, e.g. `on the OR ladder, seed 2`.
    pub fn scope(&self) -> String {
        let mut s = String::new();
        if let Some(f) = self.family {
            s.push_str(&format!("on the {f} ladder"));
        }
        if let Some(seed) = self.seed {
            if !s.is_empty() {
                s.push_str(", ");
            }
            s.push_str(&format!("seed {seed}"));
        }
        s
    }
}

/// The verdicts of one (condition, family) over all seeds, combined: the
/// most severe status ([`Status::severity`]): error if any errored, else
/// fail if any failed, else inconclusive if any was, else pass if any
/// passed, else vacuous or n/a.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConditionSummary {
    pub condition: ConditionId,
    pub family: Option<LadderFamily>,
    pub status: Status,
    pub structurally_blind: bool,
    /// The reason of the first failing verdict (or of the first verdict).
    pub reason: String,
}

/// Combines verdicts into one summary per (condition, family), in order.
pub fn summarize(verdicts: &[Verdict]) -> Vec<ConditionSummary> {
    let mut keys: Vec<(ConditionId, Option<LadderFamily>)> = Vec::new();
    for v in verdicts {
        if !keys.contains(&(v.condition, v.family)) {
            keys.push((v.condition, v.family));
        }
    }
    keys.into_iter()
        .map(|(c, f)| {
            let group: Vec<&Verdict> = verdicts
                .iter()
                .filter(|v| v.condition == c && v.family == f)
                .collect();
            let status = group
                .iter()
                .map(|v| v.status)
                .max_by_key(|s| s.severity())
                .unwrap_or(Status::NotApplicable);
            let reason = group
                .iter()
                .find(|v| v.status == status)
                .map(|v| v.reason.clone())
                .unwrap_or_default();
            ConditionSummary {
                condition: c,
                family: f,
                status,
                structurally_blind: group.iter().any(|v| v.structurally_blind),
                reason,
            }
        })
        .collect()
}

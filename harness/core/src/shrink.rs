//! The smallest failing case (CONDITIONS.md §7): for a condition a metric
//! failed, search greedily, within a time budget, for a smaller toy and
//! check that still fails the **same condition the same way**, and describe
//! it as a [`CaseFile`] that `rdpbench check --replay` reruns exactly.
//!
//! "The same way": the same condition and ladder family, status FAIL, and
//! the same kind of failure ([`FailureKind`]: flat, insensitive, a
//! reversal, or the sign of the failing effect).
//!
//! The search starts from the failing seed alone (each seed is tried for a
//! pooled verdict), at 256 samples and then at the run's `N`, then repeatedly takes the first of these edits that
//! still fails, until none does or the budget is spent:
//! 1. halve `n_samples` (not below 8);
//! 2. drop every concept no group or pair uses, or the upper half of them
//!    (renumbering the rest);
//! 3. keep one parent/child pair; one pair fewer;
//! 4. one co-occurrence group fewer; one member fewer per group (not below 2);
//! 5. the last unused concept fewer; `d` down to `n_concepts`; constant
//!    magnitudes 1.
//!
//! Every trial is a full conditions run of one metric on one seed and one
//! condition, so what the case file says is exactly what was measured. A
//! trial whose toy is infeasible or whose ladders are invalid is skipped.

use crate::conditions::{
    CheckSettings, ConditionId, MetricReport, Status, Verdict, Workbench, check_metric,
};
use crate::toy::{GroupsConfig, LadderFamily, Magnitudes, ToyConfig};
use rdpbench_sdk::{Metric, MetricSpec};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The sample size tried first, before the run's own.
const QUICK_SAMPLES: usize = 256;

/// Version of the case-file layout.
pub const CASE_VERSION: u32 = 1;

/// A failing case, complete enough to rerun exactly (TOML on disk).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaseFile {
    /// [`CASE_VERSION`].
    pub case_version: u32,
    /// The metric's id.
    pub metric: String,
    pub condition: ConditionId,
    /// The ladder family, for C1/C2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family: Option<LadderFamily>,
    /// The failing verdict's reason, as measured on this case.
    pub reason: String,
    /// The check settings (one seed, this condition only, no appended
    /// families: the toy below is complete).
    pub check: CheckSettings,
    /// The toy model.
    pub toy: ToyConfig,
}

impl CaseFile {
    /// "2 concepts, N = 24, seed 3".
    pub fn size(&self) -> String {
        format!(
            "{} concept{}, N = {}, seed {}",
            self.toy.n_concepts,
            if self.toy.n_concepts == 1 { "" } else { "s" },
            self.check.n_samples,
            self.check.seeds.first().copied().unwrap_or_default()
        )
    }
}

/// What kind of failure a verdict is, so that a shrunk case fails "the same
/// way".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    Flat,
    Insensitive,
    Reversal,
    /// A transform made the score defined or undefined (C3-C6).
    Definedness,
    /// The sign of the failing difference (margin and invariance
    /// conditions), or `0` where none.
    Signed(i8),
}

impl FailureKind {
    pub fn of(v: &Verdict) -> Self {
        if v.reason.contains("flat") {
            FailureKind::Flat
        } else if v.reason.contains("insensitive") {
            FailureKind::Insensitive
        } else if v.reason.contains("reversal") {
            FailureKind::Reversal
        } else if v.reason.contains("changed whether the score is defined") {
            FailureKind::Definedness
        } else {
            // The failing difference: the first beyond its allowed gap
            // (invariances), else the first effect (margin conditions).
            let margin = matches!(
                v.condition,
                ConditionId::C7 | ConditionId::C8 | ConditionId::C11
            );
            let failing = v.evidence.iter().find(|c| match (c.diff, c.allowed) {
                (Some(d), Some(a)) if !margin => d.abs() > a,
                (Some(_), _) => margin,
                _ => false,
            });
            let sign = failing.and_then(|c| c.diff).map_or(0, |d| {
                if d > 0.0 {
                    1
                } else if d < 0.0 {
                    -1
                } else {
                    0
                }
            });
            FailureKind::Signed(sign)
        }
    }
}

/// The first failing verdict of `(condition, family)` in `report`.
pub fn failing_verdict(
    report: &MetricReport,
    condition: ConditionId,
    family: Option<LadderFamily>,
) -> Option<&Verdict> {
    report
        .verdicts
        .iter()
        .find(|v| v.condition == condition && v.family == family && v.status == Status::Fail)
}

/// How much a search may spend: `trials` conditions runs (deterministic:
/// the same inputs give the same case on any machine) and, as a safety
/// cap, `time` (a search the cap stops says so in [`Shrunk::timed_out`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Budget {
    pub trials: usize,
    pub time: Duration,
}

/// The result of a search.
#[derive(Debug, Clone)]
pub struct Shrunk {
    pub case: CaseFile,
    /// Conditions runs tried (including the first, unshrunk one).
    pub trials: usize,
    pub elapsed: Duration,
    /// The time cap, not the trial budget, ended the search.
    pub timed_out: bool,
}

/// Runs `metric` on `case` (its toy and check settings) and returns the
/// report.
pub fn run_case(
    metric: Arc<dyn Metric>,
    spec: &MetricSpec,
    toy: &ToyConfig,
    check: &CheckSettings,
) -> anyhow::Result<MetricReport> {
    let bench = Workbench::build(toy, check)?;
    Ok(check_metric(metric, spec, &bench, &mut |_| {}))
}

/// Searches for the smallest case on which `metric` still fails
/// `(condition, family)` as `original` did. `toy` must be the check toy
/// actually used (with any appended families) and `settings` the run's.
/// `None` when not even the failing seed alone reproduces the failure
/// within the budget.
pub fn shrink(
    metric: Arc<dyn Metric>,
    spec: &MetricSpec,
    toy: &ToyConfig,
    settings: &CheckSettings,
    original: &Verdict,
    budget: Budget,
) -> Option<Shrunk> {
    let start = Instant::now();
    let spent = |trials: &std::cell::Cell<usize>| {
        trials.get() >= budget.trials || start.elapsed() > budget.time
    };
    let (condition, family) = (original.condition, original.family);
    let kind = FailureKind::of(original);
    let trials = std::cell::Cell::new(0usize);
    let attempt = |toy: &ToyConfig, check: &CheckSettings| -> Option<String> {
        if toy.resolve().is_err() {
            return None;
        }
        trials.set(trials.get() + 1);
        let report = run_case(metric.clone(), spec, toy, check).ok()?;
        let v = failing_verdict(&report, condition, family)?;
        (FailureKind::of(v) == kind).then(|| v.reason.clone())
    };
    let base = CheckSettings {
        conditions: vec![condition.to_string()],
        absorption_families: 0,
        ..settings.clone()
    };
    // The failing seed first, then the others (a pooled verdict has none).
    let mut seeds: Vec<u64> = original.seed.into_iter().collect();
    seeds.extend(settings.seeds.iter().filter(|s| Some(**s) != original.seed));
    // A small sample first (most failures show at once), then the run's own.
    let mut sizes = vec![settings.n_samples];
    if settings.n_samples > QUICK_SAMPLES {
        sizes.insert(0, QUICK_SAMPLES);
    }
    let mut current = None;
    'start: for seed in seeds {
        for &n_samples in &sizes {
            if spent(&trials) {
                break 'start;
            }
            let check = CheckSettings {
                seeds: vec![seed],
                n_samples,
                ..base.clone()
            };
            if let Some(reason) = attempt(toy, &check) {
                current = Some((toy.clone(), check, reason));
                break 'start;
            }
        }
    }
    let (mut toy, mut check, mut reason) = current?;
    'search: while !spent(&trials) {
        for (t, c) in candidates(&toy, &check) {
            if spent(&trials) {
                break 'search;
            }
            if let Some(r) = attempt(&t, &c) {
                (toy, check, reason) = (t, c, r);
                continue 'search;
            }
        }
        break;
    }
    Some(Shrunk {
        case: CaseFile {
            case_version: CASE_VERSION,
            metric: spec.id.clone(),
            condition,
            family,
            reason,
            check,
            toy,
        },
        trials: trials.get(),
        elapsed: start.elapsed(),
        timed_out: start.elapsed() > budget.time,
    })
}

/// The smaller cases one edit away, in the order they are tried: big
/// steps first (half the samples, every pair or group gone, every unused
/// concept gone), then single ones.
fn candidates(toy: &ToyConfig, check: &CheckSettings) -> Vec<(ToyConfig, CheckSettings)> {
    let mut out = Vec::new();
    if check.n_samples >= 16 {
        out.push((
            toy.clone(),
            CheckSettings {
                n_samples: check.n_samples / 2,
                ..check.clone()
            },
        ));
    }
    let with = |f: &dyn Fn(&mut ToyConfig)| {
        let mut t = toy.clone();
        f(&mut t);
        (t, check.clone())
    };
    let unused: Vec<usize> = (0..toy.n_concepts).filter(|&i| !uses(toy, i)).collect();
    if unused.len() > 1 && unused.len() < toy.n_concepts {
        out.push(with(&|t| remove_concepts(t, &unused)));
        let upper = &unused[unused.len() / 2..];
        out.push(with(&|t| remove_concepts(t, upper)));
    }
    if toy.hierarchy.len() > 1 {
        out.push(with(&|t| t.hierarchy.truncate(1)));
    }
    if !toy.hierarchy.is_empty() {
        out.push(with(&|t| {
            t.hierarchy.pop();
        }));
    }
    match &toy.groups {
        GroupsConfig::Generated {
            count,
            size,
            q_factor,
        } => {
            let (count, size, q_factor) = (*count, *size, *q_factor);
            out.push(with(&|t| {
                t.groups = if count > 1 {
                    GroupsConfig::Generated {
                        count: count - 1,
                        size,
                        q_factor,
                    }
                } else {
                    GroupsConfig::None
                }
            }));
            if size > 2 {
                out.push(with(&|t| {
                    t.groups = GroupsConfig::Generated {
                        count,
                        size: size - 1,
                        q_factor,
                    }
                }));
            }
        }
        GroupsConfig::Explicit { groups } if !groups.is_empty() => {
            let fewer = groups[..groups.len() - 1].to_vec();
            out.push(with(&|t| {
                t.groups = if fewer.is_empty() {
                    GroupsConfig::None
                } else {
                    GroupsConfig::Explicit {
                        groups: fewer.clone(),
                    }
                }
            }));
        }
        _ => {}
    }
    if let Some(&last) = unused.last().filter(|_| toy.n_concepts > 1) {
        out.push(with(&|t| remove_concepts(t, &[last])));
    }
    if toy.d > toy.n_concepts {
        out.push(with(&|t| t.d = t.n_concepts));
    }
    if toy.magnitudes != (Magnitudes::Constant { value: 1.0 }) {
        out.push(with(&|t| {
            t.magnitudes = Magnitudes::Constant { value: 1.0 }
        }));
    }
    out
}

/// Removes the concepts `gone` (none used by a group or pair), renumbering
/// the pairs and explicit groups; a generated group layout is kept only
/// when every removed concept lies above it.
fn remove_concepts(t: &mut ToyConfig, gone: &[usize]) {
    if let GroupsConfig::Generated { count, size, .. } = t.groups
        && gone.iter().any(|&i| i < count * size)
    {
        return;
    }
    let shift = |i: usize| i - gone.iter().filter(|&&g| g < i).count();
    for h in &mut t.hierarchy {
        h.parent = shift(h.parent);
        h.child = shift(h.child);
    }
    if let GroupsConfig::Explicit { groups } = &mut t.groups {
        for g in groups {
            for m in &mut g.members {
                *m = shift(*m);
            }
        }
    }
    t.n_concepts -= gone.len();
}

/// Whether concept `i` belongs to a group or a parent/child pair.
fn uses(toy: &ToyConfig, i: usize) -> bool {
    let in_group = match &toy.groups {
        GroupsConfig::None => false,
        GroupsConfig::Generated { count, size, .. } => i < count * size,
        GroupsConfig::Explicit { groups } => groups.iter().any(|g| g.members.contains(&i)),
    };
    in_group || toy.hierarchy.iter().any(|h| h.parent == i || h.child == i)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conditions::Comparison;
    use crate::toy::{GroupSpec, ParentChild};

    #[test]
    fn removing_unused_concepts_renumbers_pairs_and_groups() {
        let mut t = ToyConfig {
            n_concepts: 8,
            groups: GroupsConfig::Explicit {
                groups: vec![GroupSpec {
                    members: vec![1, 3],
                    q: 0.05,
                }],
            },
            hierarchy: vec![ParentChild {
                parent: 5,
                child: 7,
                p_given_parent: Some(0.5),
            }],
            ..ToyConfig::default()
        };
        remove_concepts(&mut t, &[0, 2, 4, 6]);
        assert_eq!(t.n_concepts, 4);
        let GroupsConfig::Explicit { groups } = &t.groups else {
            panic!()
        };
        assert_eq!(groups[0].members, vec![0, 1]);
        assert_eq!((t.hierarchy[0].parent, t.hierarchy[0].child), (2, 3));
        t.resolve().unwrap();
        // A generated layout is never cut into.
        let mut g = ToyConfig::default();
        remove_concepts(&mut g, &[3]);
        assert_eq!(g.n_concepts, 16);
    }

    #[test]
    fn candidates_are_smaller_and_big_steps_come_first() {
        let toy = ToyConfig::default()
            .with_appended_families(2, 2, 0.5)
            .unwrap();
        let check = CheckSettings::default();
        let c = candidates(&toy, &check);
        assert_eq!(c[0].1.n_samples, 2000);
        // Every concept outside the groups (0..12) and pairs is dropped at once.
        assert_eq!(c[1].0.n_concepts, 22 - 4);
        for (t, s) in &c {
            assert!(t.n_concepts <= toy.n_concepts && s.n_samples <= check.n_samples);
            assert_ne!((t, s), (&toy, &check));
        }
    }

    #[test]
    fn failure_kinds_tell_flat_reversal_definedness_and_sign_apart() {
        let v = |c: ConditionId, reason: &str, diff: f64, allowed: Option<f64>| {
            let mut v = Verdict::new(c, None, Some(0)).with(Status::Fail, reason);
            v.evidence.push(Comparison {
                diff: Some(diff),
                allowed,
                ..Comparison::default()
            });
            v
        };
        assert_eq!(
            FailureKind::of(&v(ConditionId::C1, "x is flat", 0.0, None)),
            FailureKind::Flat
        );
        assert_eq!(
            FailureKind::of(&v(ConditionId::C2, "a reversal on seed 2", -1.0, None)),
            FailureKind::Reversal
        );
        assert_eq!(
            FailureKind::of(&v(
                ConditionId::C6,
                "changed whether the score is defined",
                0.0,
                None
            )),
            FailureKind::Definedness
        );
        assert_eq!(
            FailureKind::of(&v(ConditionId::C7, "moved", -0.3, None)),
            FailureKind::Signed(-1)
        );
        assert_eq!(
            FailureKind::of(&v(ConditionId::C6, "moved", 0.4, Some(1e-6))),
            FailureKind::Signed(1)
        );
    }
}

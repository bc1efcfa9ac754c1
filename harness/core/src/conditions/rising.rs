//! The pooled test behind C1 and C2: on one ladder family, a set of rung
//! differences (C1: `m(L_k) − m(M)`; C2: `m(L_k) − m(L_{k−1})`) must each be
//! positive.
//!
//! Each seed is a replicate. For each difference, the pooled estimate is the
//! mean of the seeds' paired differences and its bootstrap replicate `b` the
//! mean of the seeds' replicates `b` (rows resampled within each seed); the
//! difference passes when the pooled basic lower bound at `1 − α` is `> 0`.
//! The family passes when every difference does (intersection–union: no
//! correction needed for "all rise"). Pooling keeps the power that a
//! "significant on every seed" rule loses as seeds are added.
//!
//! A seed whose own two-sided interval lies wholly below 0 is a
//! **reversal** and fails the family, its p-value adjusted by
//! Holm–Bonferroni over every seed and difference of the family (so a
//! reversal cannot be seed luck). A difference that ties on every seed
//! fails as "flat". A seed on which the metric is undefined on `M` does not
//! take part (the metric cannot score that toy); if none takes part the
//! verdict is "not applicable".

use super::Ctx;
use super::floor::blind_to;
use super::ladder::LadderScores;
use super::paired::{PairedDiff, paired};
use super::stats::{BasicBootstrap, holm};
use super::verdict::{Comparison, ConditionId, Status, Verdict, num};
use crate::toy::LadderFamily;

/// One difference to test: rung `upper` minus rung `lower` (0 is `M`).
#[derive(Debug, Clone, Copy)]
pub struct Step {
    pub upper: usize,
    pub lower: usize,
}

impl Step {
    fn name(k: usize) -> String {
        if k == 0 { "M".into() } else { format!("L{k}") }
    }

    /// `m(L2) − m(M)`.
    pub fn label(&self) -> String {
        format!(
            "m({}) − m({})",
            Self::name(self.upper),
            Self::name(self.lower)
        )
    }

    /// `L2 vs M` / `step M→L1`.
    fn short(&self, condition: ConditionId) -> String {
        if condition == ConditionId::C2 {
            format!("step {}→{}", Self::name(self.lower), Self::name(self.upper))
        } else {
            format!("{} vs {}", Self::name(self.upper), Self::name(self.lower))
        }
    }
}

/// Decides `condition` on `family` over every seed's ladder.
pub fn check_family(
    ctx: &Ctx<'_>,
    condition: ConditionId,
    family: LadderFamily,
    ladders: &[LadderScores],
    steps: &[Step],
) -> Verdict {
    let mut v = Verdict::new(condition, Some(family), None);
    v.structurally_blind = blind_to(ctx, family);
    let scope = format!("on the {family} ladder");
    if steps.is_empty() || ladders.iter().all(|l| l.len(family) < 2) {
        return v.with(
            Status::NotApplicable,
            format!(
                "no rung beyond M {scope} (the toy config has no {})",
                if family == LadderFamily::Absorption {
                    "parent/child hierarchy"
                } else {
                    "co-occurrence groups"
                }
            ),
        );
    }
    // diffs[i] = (step, [(seed, diff)]).
    let mut diffs: Vec<(Step, Vec<(u64, PairedDiff)>)> =
        steps.iter().map(|&s| (s, Vec::new())).collect();
    let mut undefined_on_m: Option<String> = None;
    for l in ladders {
        let Some(Some(m)) = l.rung(family, 0) else {
            continue; // not applicable to M (no encoder)
        };
        if let Some(reason) = m.full.undefined_reason() {
            undefined_on_m.get_or_insert(reason.to_string());
            continue;
        }
        for (step, per_seed) in &mut diffs {
            let (Some(Some(hi)), Some(Some(lo))) =
                (l.rung(family, step.upper), l.rung(family, step.lower))
            else {
                continue;
            };
            match paired(hi, lo, ("upper rung", "lower rung")) {
                Ok(d) => per_seed.push((l.seed, d)),
                Err(e) => {
                    return v.with(
                        Status::Fail,
                        format!(
                            "{condition} failed {scope}, seed {}: {} {e}",
                            l.seed,
                            step.short(condition)
                        ),
                    );
                }
            }
        }
    }
    diffs.retain(|(_, d)| !d.is_empty());
    if diffs.is_empty() {
        return v.with(
            Status::NotApplicable,
            match undefined_on_m {
                Some(r) => format!("the metric is undefined on M on this toy: {r}"),
                None => "the metric applies to no rung (no encoder)".into(),
            },
        );
    }
    decide(
        v,
        condition,
        &scope,
        &diffs,
        ctx.settings.confidence,
        ctx.settings.tolerances.atol_f32,
    )
}

/// The pooled decision on measured differences (`diffs[i]` = a step and
/// its per-seed paired differences); `atol` is the "flat" tie width.
fn decide(
    mut v: Verdict,
    condition: ConditionId,
    scope: &str,
    diffs: &[(Step, Vec<(u64, PairedDiff)>)],
    confidence: f64,
    atol: f64,
) -> Verdict {
    let alpha = 1.0 - confidence;
    // Reversals, Holm over every seed and step of the family.
    let p_rev: Vec<f64> = diffs
        .iter()
        .flat_map(|(_, d)| d.iter().map(|(_, d)| d.boot.p_less(0.0)))
        .collect();
    let reversed = holm(&p_rev, alpha);
    let mut failure: Option<String> = None;
    let mut lowest = f64::INFINITY;
    let mut idx = 0;
    let n_tests = p_rev.len();
    for (step, per_seed) in diffs {
        let parts: Vec<&BasicBootstrap> = per_seed.iter().map(|(_, d)| &d.boot).collect();
        let pooled = BasicBootstrap::pooled(&parts);
        let lower = pooled.lower(alpha);
        lowest = lowest.min(lower);
        let seeds = per_seed.len();
        v.evidence.push(Comparison {
            label: format!("{}, mean over {seeds} seed(s)", step.label()),
            diff: Some(pooled.estimate),
            ci_low: Some(lower),
            bias: Some(pooled.bias()),
            n_resamples: Some(pooled.len()),
            ..Comparison::default()
        });
        let flat = per_seed.iter().all(|(_, d)| d.is_tie(atol));
        if flat {
            failure.get_or_insert(format!(
                "{condition} failed {scope}: {} is flat on every seed (the metric did not move)",
                step.short(condition)
            ));
        } else if lower <= 0.0 {
            failure.get_or_insert(format!(
                "{condition} failed {scope}: {} = {} pooled over {seeds} seed(s), lower bound {} ≤ 0",
                step.label(),
                num(pooled.estimate),
                num(lower)
            ));
        }
        for (seed, d) in per_seed {
            let mut c = d.evidence(format!("seed {seed}: {}", step.label()), confidence);
            c.p_value = Some(p_rev[idx]);
            if reversed[idx] {
                let (lo, hi) = d.boot.interval(alpha);
                failure.get_or_insert(format!(
                    "{condition} failed {scope}: a reversal on seed {seed}: {} = {}, interval [{}, {}] \
                     wholly below 0 (p = {}, Holm over {n_tests} tests)",
                    step.label(),
                    num(d.diff),
                    num(lo),
                    num(hi),
                    num(p_rev[idx])
                ));
            }
            v.evidence.push(c);
            idx += 1;
        }
    }
    match failure {
        Some(reason) => v.with(Status::Fail, reason),
        None => v.with(
            Status::Pass,
            format!(
                "all {} {} rise, pooled over seeds (lowest lower bound {}), no reversal on any seed",
                diffs.len(),
                if condition == ConditionId::C2 { "steps" } else { "rungs" },
                num(lowest)
            ),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::conditions::paired::spread_diff as diff;

    fn run(per_seed: &[(f64, f64)]) -> Verdict {
        let step = Step { upper: 1, lower: 0 };
        let diffs = vec![(
            step,
            per_seed
                .iter()
                .enumerate()
                .map(|(s, &(t, w))| (s as u64, diff(t, w)))
                .collect(),
        )];
        let v = Verdict::new(ConditionId::C1, Some(LadderFamily::Or), None);
        decide(v, ConditionId::C1, "on the OR ladder", &diffs, 0.95, 1e-7)
    }

    /// concept-entropy's OR step in the issue: clearly positive on five
    /// seeds, 0.046 with a lower bound below 0 on the sixth. A per-seed rule
    /// fails; pooled, it passes.
    #[test]
    fn pooling_keeps_power_as_seeds_are_added() {
        let seeds = [
            (0.13, 0.05),
            (0.07, 0.05),
            (0.14, 0.05),
            (0.10, 0.05),
            (0.08, 0.05),
            (0.046, 0.066),
        ];
        assert!(diff(0.046, 0.066).boot.lower(0.05) < 0.0);
        let v = run(&seeds);
        assert_eq!(v.status, Status::Pass, "{}", v.reason);
        // Pooled evidence first, then one row per seed.
        assert_eq!(v.evidence.len(), 7);
        assert!((v.evidence[0].diff.unwrap() - 0.566 / 6.0).abs() < 1e-12);
    }

    #[test]
    fn a_clear_reversal_on_one_seed_fails_even_when_the_pool_rises() {
        let v = run(&[(0.5, 0.05), (0.5, 0.05), (-0.3, 0.05)]);
        assert_eq!(v.status, Status::Fail, "{}", v.reason);
        assert!(v.reason.contains("reversal on seed 2"), "{}", v.reason);
    }

    /// A seed barely below 0 (p ≈ 0.03 alone) is not a reversal once Holm
    /// corrects over the three seeds.
    #[test]
    fn a_marginal_dip_is_not_a_reversal_after_holm() {
        let v = run(&[(0.5, 0.05), (0.5, 0.05), (-0.02, 0.021)]);
        let p = v.evidence[3].p_value.unwrap();
        assert!(p > 0.05 / 3.0 && p < 0.05, "p = {p}");
        assert_eq!(v.status, Status::Pass, "{}", v.reason);
    }

    #[test]
    fn flat_and_non_positive_pools_fail() {
        let v = run(&[(0.0, 0.0), (0.0, 0.0)]);
        assert_eq!(v.status, Status::Fail);
        assert!(v.reason.contains("flat"), "{}", v.reason);
        let v = run(&[(0.01, 0.2), (-0.01, 0.2)]);
        assert_eq!(v.status, Status::Fail);
        assert!(v.reason.contains("lower bound"), "{}", v.reason);
    }
}

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
    let alpha = 1.0 - ctx.settings.confidence;
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
    for (step, per_seed) in &diffs {
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
        let flat = per_seed
            .iter()
            .all(|(_, d)| d.is_tie(ctx.settings.tolerances.atol_f32));
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
            let mut c = d.evidence(
                format!("seed {seed}: {}", step.label()),
                ctx.settings.confidence,
            );
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

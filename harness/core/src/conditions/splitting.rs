//! C7, splitting is not mixing: splitting every latent into two copies with
//! the same decoder row (each sample's code to one copy by a fair coin) adds
//! no concept content. A margin test ([`super::margin`]): the paired effect
//! `Δ = m(split) − m(original)` must lie within `±δ`, on `M` and on the first
//! OR rung of every seed. The contextual split (one copy fires only with a
//! partner concept) is reported as a diagnostic that does not decide the
//! verdict.

use super::Ctx;
use super::ladder::LadderScores;
use super::margin::{Effect, SeedEffects, decide};
use super::paired::paired;
use super::paired::score_case as score;
use super::sensitivity::Sensitivity;
use super::verdict::{Comparison, ConditionId, Status, Verdict};
use crate::eval::applicable;
use crate::toy::LadderFamily;
use crate::toy::gauge::{split_coin_flip, split_contextual};

/// `ladders[i]` holds seed `i`'s scores of `M` and the OR rungs on the
/// ladder resamples, reused here as the unsplit side.
pub fn check(ctx: &Ctx<'_>, sens: &Sensitivity, ladders: &[LadderScores]) -> Vec<Verdict> {
    let seeds = ctx
        .bench
        .seeds
        .iter()
        .zip(ladders)
        .map(|(bench, ladder)| {
            let v = Verdict::new(ConditionId::C7, None, Some(bench.seed));
            let mut cases = vec![("M", &bench.mono, ladder.rung(LadderFamily::Or, 0))];
            if let Some(r) = bench.family(LadderFamily::Or).next() {
                cases.push(("L1(OR)", &r.case, ladder.rung(LadderFamily::Or, 1)));
            }
            let mut effects = Vec::new();
            let mut diagnostics = Vec::new();
            for (i, (name, case, scored)) in cases.into_iter().enumerate() {
                let split =
                    split_coin_flip(case, bench.seed.wrapping_mul(7919).wrapping_add(i as u64));
                if !applicable(ctx.spec, case) || !applicable(ctx.spec, &split) {
                    continue;
                }
                // The unsplit side was scored with the ladders, on the same resamples.
                let orig = match scored.flatten() {
                    Some(s) => Ok(s.clone()),
                    None => score(ctx, case, &bench.ladder_boot),
                };
                let result = orig.and_then(|orig| {
                    let s = score(ctx, &split, &bench.ladder_boot)?;
                    let c = score(ctx, &split_contextual(case), &[])?;
                    Ok((orig, s, c))
                });
                let (orig, s, contextual) = match result {
                    Ok(x) => x,
                    Err(e) => {
                        return SeedEffects::Decided(
                            v.with(Status::Error, format!("C7 on seed {}: {e:#}", bench.seed)),
                        );
                    }
                };
                match paired(&s, &orig, ("split", "original")) {
                    Ok(d) => effects.push(Effect {
                        label: format!("Δ = m(coin split of {name}) − m({name})"),
                        what: format!("splitting {name}"),
                        diff: d,
                    }),
                    Err(e) if e.undefined_on("original") => continue,
                    Err(e) => {
                        return SeedEffects::Decided(v.with(
                            Status::Fail,
                            format!("C7 failed on seed {}: {name}: {e}", bench.seed),
                        ));
                    }
                }
                if let (Some(a), Some(b)) = (contextual.full.value(), orig.full.value()) {
                    diagnostics.push(Comparison {
                        label: format!("diagnostic: m(contextual split of {name}) − m({name})"),
                        lhs: Some(a),
                        rhs: Some(b),
                        diff: Some(a - b),
                        ..Comparison::default()
                    });
                }
            }
            if effects.is_empty() {
                return SeedEffects::Decided(v.with(
                    Status::NotApplicable,
                    "no case the metric applies to and is defined on",
                ));
            }
            SeedEffects::Measured {
                seed: bench.seed,
                effects,
                diagnostics,
            }
        })
        .collect();
    decide(
        ConditionId::C7,
        seeds,
        sens,
        ctx.settings.confidence,
        ctx.settings.n_samples,
    )
}

//! C11, density is not polysemanticity: `M` on independent data at marginals
//! `p` vs `2p`. A margin test ([`super::margin`]) on the paired effect
//! `Δ = m(M at 2p) − m(M at p)` (common random numbers); fails as
//! "insensitive" where no family has a positive step. Why: the AND ladder
//! lowers L0 by construction, so a metric that merely reads the rate passes
//! C1 and C2; this catches it.

use super::Ctx;
use super::margin::{Effect, SeedEffects, decide};
use super::paired::score_case as score;
use super::paired::{CaseScores, paired};
use super::sensitivity::Sensitivity;
use super::verdict::{ConditionId, Status, Verdict};

/// `independent[i]`: seed `i`'s scores of `M` on the independent data at `p`
/// (shared with C8).
pub fn check(
    ctx: &Ctx<'_>,
    sens: &Sensitivity,
    independent: &[Result<CaseScores, String>],
) -> Vec<Verdict> {
    let seeds = ctx
        .bench
        .seeds
        .iter()
        .zip(independent)
        .map(|(bench, ind)| {
            let v = Verdict::new(ConditionId::C11, None, Some(bench.seed));
            let boot = &bench.paired_boot;
            let scored = score(ctx, &bench.mono_dense, boot)
                .and_then(|dense| Ok((dense, ind.clone().map_err(anyhow::Error::msg)?)));
            let (dense, sparse) = match scored {
                Ok(x) => x,
                Err(e) => {
                    return SeedEffects::Decided(
                        v.with(Status::Error, format!("C11 on seed {}: {e:#}", bench.seed)),
                    );
                }
            };
            match paired(&dense, &sparse, ("2p", "p")) {
                Ok(d) => SeedEffects::Measured {
                    seed: bench.seed,
                    effects: vec![Effect {
                        label: "Δ = m(M at 2p) − m(M at p), independent data".into(),
                        what: "doubling the marginals".into(),
                        diff: d,
                    }],
                    diagnostics: Vec::new(),
                },
                Err(e) if e.undefined_on("p") => SeedEffects::Decided(v.with(
                    Status::NotApplicable,
                    format!("the metric is undefined on M at marginals p: {e}"),
                )),
                Err(e) => SeedEffects::Decided(v.with(
                    Status::Fail,
                    format!("C11 failed on seed {}: {e}", bench.seed),
                )),
            }
        })
        .collect();
    decide(
        ConditionId::C11,
        seeds,
        sens,
        ctx.settings.confidence,
        ctx.settings.n_samples,
    )
}

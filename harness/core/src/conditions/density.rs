//! C11, density is not polysemanticity: `M` on independent data at marginals
//! `p` vs `2p`. A margin test ([`super::margin`]) on the paired effect
//! `Δ = m(M at 2p) − m(M at p)` (common random numbers); fails as
//! "insensitive" where no family has a positive step. Why: the AND ladder
//! lowers L0 by construction, so a metric that merely reads the rate passes
//! C1 and C2; this catches it.

use super::Ctx;
use super::margin::{OneEffect, decide};
use super::paired::CaseScores;
use super::paired::score_case as score;
use super::sensitivity::Sensitivity;
use super::verdict::{ConditionId, Verdict};

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
            let boot = &bench.paired_boot;
            let scored = score(ctx, &bench.mono_dense, boot)
                .and_then(|dense| Ok((dense, ind.clone().map_err(anyhow::Error::msg)?)));
            OneEffect {
                condition: ConditionId::C11,
                seed: bench.seed,
                names: ("2p", "p"),
                label: "Δ = m(M at 2p) − m(M at p), independent data",
                what: "doubling the marginals",
                reference: "M at marginals p",
            }
            .measure(scored)
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

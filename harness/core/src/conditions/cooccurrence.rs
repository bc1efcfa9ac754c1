//! C8, co-occurrence is not polysemanticity: the monosemantic oracle on data
//! whose groups co-occur (`q = 0.9 p`) must score like `M` on independent
//! data. A margin test ([`super::margin`]) on the paired effect
//! `Δ = m(M, co-occurring) − m(M, independent)` (common random numbers),
//! decided whatever the sign of the steps: `δ` comes from the metric's
//! largest positive step over every ladder family and the merges of those
//! co-occurring groups, so a metric that co-occurrence moves while merging
//! on co-occurring data lowers it is caught, not skipped. Vacuous for
//! metrics that read no per-sample input (their view of `M` does not depend
//! on the data).

use super::Ctx;
use super::margin::{OneEffect, SeedEffects, decide};
use super::paired::CaseScores;
use super::paired::score_case as score;
use super::sensitivity::Sensitivity;
use super::verdict::{ConditionId, Status, Verdict};
use crate::eval::reads_rows;

/// `independent[i]`: seed `i`'s scores of `M` on the independent data (shared
/// with C11).
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
            let v = Verdict::new(ConditionId::C8, None, Some(bench.seed));
            if !reads_rows(ctx.spec) {
                return SeedEffects::Decided(v.with(
                    Status::Vacuous,
                    "the metric reads no per-sample input (decoder-only)",
                ));
            }
            let boot = &bench.paired_boot;
            let scored = ind
                .clone()
                .map_err(anyhow::Error::msg)
                .and_then(|ind| Ok((score(ctx, &bench.mono_cooccurring, boot)?, ind)));
            OneEffect {
                condition: ConditionId::C8,
                seed: bench.seed,
                names: ("co-occurring M", "independent M"),
                label: "Δ = m(M, co-occurring) − m(M, independent)",
                what: "co-occurrence alone",
                reference: "M with independent concepts",
            }
            .measure(scored)
        })
        .collect();
    decide(
        ConditionId::C8,
        seeds,
        sens,
        ctx.settings.confidence,
        ctx.settings.n_samples,
    )
}

//! C11, density is not polysemanticity: `M` on independent data at marginals
//! `p` vs `2p` must satisfy `|Δ| < half the largest positive ladder step` (of
//! the same seed). Fails as "insensitive" where no family has a positive step.
//! Why: the AND ladder lowers L0 by construction, so a metric that merely
//! reads the rate passes C1 and C2; this catches it.

use super::Ctx;
use super::ladder::LadderScores;
use super::paired::paired;
use super::paired::score_case as score;
use super::verdict::{ConditionId, Status, Verdict, num};

pub fn check(ctx: &Ctx<'_>, ladders: &[LadderScores]) -> Vec<Verdict> {
    ctx.bench
        .seeds
        .iter()
        .zip(ladders)
        .map(|(bench, l)| {
            let mut v = Verdict::new(ConditionId::C11, None, Some(bench.seed));
            let boot = &bench.paired_boot;
            let scored = score(ctx, &bench.mono_dense, boot)
                .and_then(|dense| Ok((dense, score(ctx, &bench.mono_independent, boot)?)));
            let (dense, sparse) = match scored {
                Ok(x) => x,
                Err(e) => return v.with(Status::Error, format!("C11 on seed {}: {e:#}", bench.seed)),
            };
            let d = match paired(&dense, &sparse, ctx.settings.confidence, ("2p", "p")) {
                Ok(d) => d,
                Err(e) => return v.with(Status::Fail, format!("C11 failed on seed {}: {e}", bench.seed)),
            };
            let mut c = d.interval("Δ = m(M at 2p) − m(M at p), independent data");
            let Some((family, step)) = l.largest_positive_step(ctx) else {
                v.evidence.push(c);
                return v.with(
                    Status::Fail,
                    format!("C11 failed on seed {}: insensitive (no ladder family has a positive step)", bench.seed),
                );
            };
            let allowed = step / 2.0;
            c.allowed = Some(allowed);
            v.evidence.push(c);
            let (shift, half) = (num(d.diff), num(allowed));
            if d.diff.abs() < allowed {
                v.with(
                    Status::Pass,
                    format!("|Δ| = |{shift}| < half the {family} step ({half})"),
                )
            } else {
                v.with(
                    Status::Fail,
                    format!(
                        "C11 failed on seed {}: doubling the marginals moved the score by {shift}, not < half the {family} step ({half})",
                        bench.seed
                    ),
                )
            }
        })
        .collect()
}

//! C8, co-occurrence is not polysemanticity: the monosemantic oracle on data
//! whose groups co-occur (`q = 0.9 p`) must score like `M` on independent
//! data: `|Δ| < step / 2`, where the step is measured on that same
//! co-occurring data by merging exactly those groups (the larger of the AND
//! and OR merges' `m(merged) − m(M)`, i.e. the metric's own sensitivity to
//! the polysemanticity those groups would create). Checked only where that
//! step is > 0; vacuous for metrics that read no per-sample input (their
//! view of `M` does not depend on the data).

use super::Ctx;
use super::paired::paired;
use super::paired::score_case as score;
use super::verdict::{ConditionId, Status, Verdict, num};
use crate::eval::reads_rows;

pub fn check(ctx: &Ctx<'_>) -> Vec<Verdict> {
    ctx.bench
        .seeds
        .iter()
        .map(|bench| {
            let v = Verdict::new(ConditionId::C8, None, Some(bench.seed));
            if !reads_rows(ctx.spec) {
                return v.with(
                    Status::Vacuous,
                    "the metric reads no per-sample input (decoder-only)",
                );
            }
            run_seed(ctx, bench, v)
        })
        .collect()
}

fn run_seed(ctx: &Ctx<'_>, bench: &super::workbench::SeedBench, mut v: Verdict) -> Verdict {
    let conf = ctx.settings.confidence;
    let boot = &bench.paired_boot;
    let scored = (|| {
        let ind = score(ctx, &bench.mono_independent, boot)?;
        let co = score(ctx, &bench.mono_cooccurring, boot)?;
        let merged = bench
            .merged_cooccurring
            .iter()
            .map(|(f, c)| Ok((*f, score(ctx, c, boot)?)))
            .collect::<anyhow::Result<Vec<_>>>()?;
        anyhow::Ok((ind, co, merged))
    })();
    let (ind, co, merged) = match scored {
        Ok(x) => x,
        Err(e) => return v.with(Status::Error, format!("C8 on seed {}: {e:#}", bench.seed)),
    };
    let delta = match paired(&co, &ind, conf, ("co-occurring M", "independent M")) {
        Ok(d) => d,
        Err(e) => {
            return v.with(
                Status::Fail,
                format!("C8 failed on seed {}: {e}", bench.seed),
            );
        }
    };
    v.evidence
        .push(delta.interval("Δ = m(M, co-occurring) − m(M, independent)"));
    let mut step: Option<(crate::toy::LadderFamily, f64)> = None;
    for (family, m) in &merged {
        if let Ok(d) = paired(m, &co, conf, ("merged", "M")) {
            v.evidence.push(d.one_sided(format!(
                "step: m({family}-merged groups) − m(M), co-occurring data"
            )));
            if d.diff > 0.0 && step.is_none_or(|(_, s)| d.diff > s) {
                step = Some((*family, d.diff));
            }
        }
    }
    let Some((family, step)) = step else {
        return v.with(
            Status::NotApplicable,
            "merging the co-occurring groups gives no positive step to compare against",
        );
    };
    let allowed = step / 2.0;
    if let Some(first) = v.evidence.first_mut() {
        first.allowed = Some(allowed);
    }
    let (shift, half) = (num(delta.diff), num(allowed));
    if delta.diff.abs() < allowed {
        v.with(
            Status::Pass,
            format!("|Δ| = |{shift}| < half the {family} step ({half})"),
        )
    } else {
        let reason = format!(
            "C8 failed on seed {}: co-occurrence alone moved the score by {shift}, not < half the {family} step ({half})",
            bench.seed
        );
        v.with(Status::Fail, reason)
    }
}

//! C7, splitting is not mixing: splitting every latent into two copies with
//! the same decoder row (each sample's code to one copy by a fair coin) adds
//! no concept content. Two-sided: the paired interval of
//! `m(split) − m(original)` contains 0. Checked on `M` and the first OR rung;
//! the contextual split (one copy fires only with a partner concept) is
//! reported as a diagnostic that does not decide the verdict.

use super::Ctx;
use super::paired::paired;
use super::paired::score_case as score;
use super::verdict::{ConditionId, Status, Verdict, num};
use crate::eval::applicable;
use crate::toy::LadderFamily;
use crate::toy::gauge::{split_coin_flip, split_contextual};

pub fn check(ctx: &Ctx<'_>) -> Vec<Verdict> {
    ctx.bench
        .seeds
        .iter()
        .map(|bench| {
            let mut v = Verdict::new(ConditionId::C7, None, Some(bench.seed));
            let mut cases = vec![("M", &bench.mono)];
            if let Some(r) = bench.family(LadderFamily::Or).next() {
                cases.push(("L1(OR)", &r.case));
            }
            let mut failure = None;
            let mut compared = 0;
            for (i, (name, case)) in cases.into_iter().enumerate() {
                let split = split_coin_flip(case, bench.seed.wrapping_mul(7919).wrapping_add(i as u64));
                if !applicable(ctx.spec, case) || !applicable(ctx.spec, &split) {
                    continue;
                }
                let result = score(ctx, case, &bench.ladder_boot).and_then(|orig| {
                    let s = score(ctx, &split, &bench.ladder_boot)?;
                    let contextual = split_contextual(case);
                    let c = score(ctx, &contextual, &[])?;
                    Ok((orig, s, c))
                });
                let (orig, s, contextual) = match result {
                    Ok(x) => x,
                    Err(e) => return v.with(Status::Error, format!("C7 on seed {}: {e:#}", bench.seed)),
                };
                compared += 1;
                match paired(&s, &orig, ctx.settings.confidence, ("split", "original")) {
                    Ok(d) => {
                        v.evidence.push(d.interval(format!("m(coin split of {name}) − m({name})")));
                        if (d.two_sided.0 > 0.0 || d.two_sided.1 < 0.0) && failure.is_none() {
                            failure = Some(format!(
                                "C7 failed on seed {}: splitting {name} moved the score by {}, interval \
                                 [{}, {}] excludes 0",
                                bench.seed,
                                num(d.diff),
                                num(d.two_sided.0),
                                num(d.two_sided.1)
                            ));
                        }
                    }
                    Err(e) => {
                        failure.get_or_insert(format!("C7 failed on seed {}: {name}: {e}", bench.seed));
                    }
                }
                if let (Some(a), Some(b)) = (contextual.full.value(), orig.full.value()) {
                    let mut c = super::verdict::Comparison::exact(
                        format!("diagnostic: m(contextual split of {name}) − m({name})"),
                        a,
                        b,
                        f64::NAN,
                    );
                    c.allowed = None;
                    v.evidence.push(c);
                }
            }
            match (compared, failure) {
                (0, _) => v.with(Status::NotApplicable, "no case the metric applies to after splitting"),
                (_, Some(r)) => v.with(Status::Fail, r),
                (_, None) => v.with(Status::Pass, "coin-flip splits leave the score within its interval"),
            }
        })
        .collect()
}

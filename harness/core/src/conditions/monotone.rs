//! C2, monotone in polysemanticity: on every family and seed, each step
//! `m(L_k) − m(L_{k−1})` has a paired one-sided lower bound > 0. A step on
//! which the metric does not move at all fails with the reason "flat".

use super::Ctx;
use super::floor::{blind_to, v_scope};
use super::ladder::LadderScores;
use super::paired::paired;
use super::verdict::{ConditionId, Status, Verdict, num};
use super::workbench::FAMILIES;

pub fn check(ctx: &Ctx<'_>, ladders: &[LadderScores]) -> Vec<Verdict> {
    let mut out = Vec::new();
    for family in FAMILIES {
        for l in ladders {
            let mut v = Verdict::new(ConditionId::C2, Some(family), Some(l.seed));
            v.structurally_blind = blind_to(ctx, family);
            if l.len(family) < 2 {
                out.push(v.with(
                    Status::NotApplicable,
                    "no rung beyond M (the toy config has no groups)",
                ));
                continue;
            }
            let mut failed: Option<String> = None;
            let mut steps = 0;
            for k in 1..l.len(family) {
                let (Some(Some(prev)), Some(Some(next))) =
                    (l.rung(family, k - 1), l.rung(family, k))
                else {
                    continue;
                };
                steps += 1;
                let from = if k == 1 {
                    "M".to_string()
                } else {
                    format!("L{}", k - 1)
                };
                match paired(
                    next,
                    prev,
                    ctx.settings.confidence,
                    ("upper rung", "lower rung"),
                ) {
                    Ok(d) => {
                        v.evidence.push(d.one_sided(format!("m(L{k}) − m({from})")));
                        if failed.is_none() && d.is_tie(ctx.settings.tolerances.atol_f32) {
                            failed = Some(format!(
                                "C2 failed {}: step {from}→L{k} is flat (the metric did not move)",
                                v_scope(family, l.seed)
                            ));
                        } else if failed.is_none() && d.lower <= 0.0 {
                            failed = Some(format!(
                                "C2 failed {}: step {from}→L{k} = {}, lower bound {} ≤ 0",
                                v_scope(family, l.seed),
                                num(d.diff),
                                num(d.lower)
                            ));
                        }
                    }
                    Err(e) => {
                        failed.get_or_insert(format!(
                            "C2 failed {}: step {from}→L{k} {e}",
                            v_scope(family, l.seed)
                        ));
                    }
                }
            }
            out.push(match (steps, failed) {
                (0, _) => v.with(
                    Status::NotApplicable,
                    "no step between two applicable rungs (no encoder)",
                ),
                (_, Some(reason)) => v.with(Status::Fail, reason),
                (n, None) => v.with(Status::Pass, format!("all {n} steps rise")),
            });
        }
    }
    out
}

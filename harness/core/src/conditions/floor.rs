//! C1, monosemantic floor: on every ladder family and seed, every rung scores
//! above `M`: the paired one-sided lower bound of `m(L_k) − m(M)` is > 0.

use super::Ctx;
use super::ladder::LadderScores;
use super::paired::paired;
use super::verdict::{ConditionId, Status, Verdict, num};
use super::workbench::FAMILIES;
use rdpbench_sdk::Input;

/// AND-built merges are invisible to a metric that reads no decoder.
pub fn blind_to(ctx: &Ctx<'_>, family: crate::toy::LadderFamily) -> bool {
    family != crate::toy::LadderFamily::Or && !ctx.spec.reads(Input::Decoder)
}

pub fn check(ctx: &Ctx<'_>, ladders: &[LadderScores]) -> Vec<Verdict> {
    let mut out = Vec::new();
    for family in FAMILIES {
        for l in ladders {
            let mut v = Verdict::new(ConditionId::C1, Some(family), Some(l.seed));
            v.structurally_blind = blind_to(ctx, family);
            if l.len(family) < 2 {
                out.push(v.with(
                    Status::NotApplicable,
                    "no rung beyond M (the toy config has no groups)",
                ));
                continue;
            }
            let Some(Some(m)) = l.rung(family, 0) else {
                out.push(v.with(
                    Status::NotApplicable,
                    "the metric does not apply to M (no encoder)",
                ));
                continue;
            };
            let mut failed: Option<String> = None;
            let mut applicable = 0;
            for k in 1..l.len(family) {
                let Some(Some(rung)) = l.rung(family, k) else {
                    continue;
                };
                applicable += 1;
                match paired(rung, m, ctx.settings.confidence, ("rung", "M")) {
                    Ok(d) => {
                        v.evidence.push(d.one_sided(format!("m(L{k}) − m(M)")));
                        if failed.is_none() && d.is_tie(ctx.settings.tolerances.atol_f32) {
                            failed = Some(format!(
                                "C1 failed {}: L{k} ties with M (flat: the metric did not move)",
                                v_scope(family, l.seed)
                            ));
                        } else if d.lower <= 0.0 && failed.is_none() {
                            failed = Some(format!(
                                "C1 failed {}: m(L{k}) − m(M) = {}, lower bound {} ≤ 0",
                                v_scope(family, l.seed),
                                num(d.diff),
                                num(d.lower)
                            ));
                        }
                    }
                    Err(e) => {
                        failed.get_or_insert(format!(
                            "C1 failed {}: rung {k} {e}",
                            v_scope(family, l.seed)
                        ));
                    }
                }
            }
            out.push(match (applicable, failed) {
                (0, _) => v.with(
                    Status::NotApplicable,
                    "the metric applies to no rung (no encoder)",
                ),
                (_, Some(reason)) => v.with(Status::Fail, reason),
                (n, None) => v.with(Status::Pass, format!("all {n} rungs score above M")),
            });
        }
    }
    out
}

pub(super) fn v_scope(family: crate::toy::LadderFamily, seed: u64) -> String {
    format!("on the {family} ladder, seed {seed}")
}

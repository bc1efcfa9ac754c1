//! C1, monosemantic floor: on every ladder family, every rung scores above
//! `M`: the lower bound of `m(L_k) − m(M)` pooled over the seeds is `> 0`,
//! and no seed reverses it ([`super::rising`]).

use super::Ctx;
use super::ladder::LadderScores;
use super::rising::{Step, check_family};
use super::verdict::{ConditionId, Verdict};
use super::workbench::FAMILIES;
use rdpbench_sdk::Input;

/// AND-built merges are invisible to a metric that reads no decoder.
pub fn blind_to(ctx: &Ctx<'_>, family: crate::toy::LadderFamily) -> bool {
    matches!(
        family,
        crate::toy::LadderFamily::And | crate::toy::LadderFamily::Growing
    ) && !ctx.spec.reads(Input::Decoder)
}

pub fn check(ctx: &Ctx<'_>, ladders: &[LadderScores]) -> Vec<Verdict> {
    FAMILIES
        .iter()
        .map(|&family| {
            let rungs = ladders.iter().map(|l| l.len(family)).max().unwrap_or(1);
            let steps: Vec<Step> = (1..rungs).map(|k| Step { upper: k, lower: 0 }).collect();
            check_family(ctx, ConditionId::C1, family, ladders, &steps)
        })
        .collect()
}

//! C2, monotone in polysemanticity: on every ladder family, each step
//! `m(L_k) − m(L_{k−1})` has a lower bound pooled over the seeds `> 0`, and
//! no seed reverses it ([`super::rising`]). A step on which the metric does
//! not move at all fails with the reason "flat".

use super::Ctx;
use super::ladder::LadderScores;
use super::rising::{Step, check_family};
use super::verdict::{ConditionId, Verdict};
use super::workbench::FAMILIES;

pub fn check(ctx: &Ctx<'_>, ladders: &[LadderScores]) -> Vec<Verdict> {
    FAMILIES
        .iter()
        .map(|&family| {
            let rungs = ladders.iter().map(|l| l.len(family)).max().unwrap_or(1);
            let steps: Vec<Step> = (1..rungs)
                .map(|k| Step {
                    upper: k,
                    lower: k - 1,
                })
                .collect();
            check_family(ctx, ConditionId::C2, family, ladders, &steps)
        })
        .collect()
}

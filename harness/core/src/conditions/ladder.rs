//! A metric's scores on one seed's ladders: `M` and every rung of every
//! family, on the ladder data and its shared bootstrap resamples. C1 and C2
//! read these; so does the metric's [`super::sensitivity::Sensitivity`].

use super::Ctx;
use super::paired::{CaseScores, score_if_applicable};
use super::workbench::SeedBench;
use crate::toy::LadderFamily;
use anyhow::Result;

/// Scores of `M` and of each rung, for one seed.
#[derive(Debug, Clone)]
pub struct LadderScores {
    pub seed: u64,
    /// `None` when the metric does not apply to `M`.
    pub mono: Option<CaseScores>,
    /// `(family, k, scores)`; scores `None` where the metric does not apply.
    pub rungs: Vec<(LadderFamily, usize, Option<CaseScores>)>,
}

impl LadderScores {
    pub fn compute(ctx: &Ctx<'_>, bench: &SeedBench) -> Result<Self> {
        let mono = score_if_applicable(ctx, &bench.mono, &bench.ladder_boot)?;
        let rungs = bench
            .rungs
            .iter()
            .map(|r| {
                Ok((
                    r.family,
                    r.k,
                    score_if_applicable(ctx, &r.case, &bench.ladder_boot)?,
                ))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            seed: bench.seed,
            mono,
            rungs,
        })
    }

    /// Rung `k` of `family` (`k = 0` is `M`); outer `None`: no such rung;
    /// inner `None`: not applicable.
    pub fn rung(&self, family: LadderFamily, k: usize) -> Option<Option<&CaseScores>> {
        if k == 0 {
            return Some(self.mono.as_ref());
        }
        self.rungs
            .iter()
            .find(|(f, kk, _)| *f == family && *kk == k)
            .map(|(_, _, s)| s.as_ref())
    }

    /// Number of rungs of `family`, `M` included (1 when the family is absent).
    pub fn len(&self, family: LadderFamily) -> usize {
        1 + self.rungs.iter().filter(|(f, _, _)| *f == family).count()
    }
}

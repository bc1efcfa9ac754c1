//! A metric's sensitivity to polysemanticity: the margin `δ` of the margin
//! conditions (C7, C8, C11) and the step of C9.
//!
//! The **step** of a construction is the paired mean `m(L_1) − m(M)` at full
//! data. Steps are measured on every ladder family (on the ladder data) and
//! on the AND and OR merges of the co-occurring groups (on the C8 data), and
//! each is averaged over the seeds, so that `δ` is one number per metric and
//! run, not a per-seed draw. `δ = ½ · (largest positive averaged step)`.
//! Where no step is positive the metric is **insensitive**: it cannot tell a
//! polysemantic SAE from a monosemantic one, and the margin conditions fail
//! (CONDITIONS.md §4).

use super::Ctx;
use super::ladder::LadderScores;
use super::verdict::{Comparison, num};
use super::workbench::{FAMILIES, SeedBench};
use crate::eval::{Score, applicable, evaluate};

/// The averaged steps and the largest positive one.
#[derive(Debug, Clone, PartialEq)]
pub struct Sensitivity {
    /// `(construction, mean step over the seeds where it is defined)`.
    pub steps: Vec<(String, f64)>,
    /// The largest positive step, if any.
    pub largest: Option<(String, f64)>,
}

impl Sensitivity {
    /// Measures every step on every seed. `ladders[i]` belongs to
    /// `ctx.bench.seeds[i]`. Evaluation errors propagate (the caller turns
    /// them into error verdicts).
    pub fn measure(ctx: &Ctx<'_>, ladders: &[LadderScores]) -> anyhow::Result<Self> {
        let mut sums: Vec<(String, f64, usize)> = Vec::new();
        let mut add = |name: String, step: f64| match sums.iter_mut().find(|(n, _, _)| *n == name) {
            Some(e) => {
                e.1 += step;
                e.2 += 1;
            }
            None => sums.push((name, step, 1)),
        };
        for l in ladders {
            for family in FAMILIES {
                let (Some(Some(m)), Some(Some(l1))) = (l.rung(family, 0), l.rung(family, 1)) else {
                    continue;
                };
                if let (Some(a), Some(b)) = (l1.full.value(), m.full.value()) {
                    add(format!("{family} ladder"), a - b);
                }
            }
        }
        for bench in &ctx.bench.seeds {
            for (name, step) in merge_steps(ctx, bench)? {
                add(name, step);
            }
        }
        let steps: Vec<(String, f64)> = sums
            .into_iter()
            .map(|(n, s, k)| (n, s / k as f64))
            .collect();
        let largest = steps
            .iter()
            .filter(|(_, s)| *s > 0.0)
            .max_by(|a, b| a.1.total_cmp(&b.1))
            .cloned();
        Ok(Self { steps, largest })
    }

    /// The margin `δ = ½ · largest positive step`.
    pub fn margin(&self) -> Option<f64> {
        self.largest.as_ref().map(|(_, s)| s / 2.0)
    }

    /// The largest positive step (0 when none).
    pub fn step(&self) -> f64 {
        self.largest.as_ref().map_or(0.0, |(_, s)| *s)
    }

    /// "half the OR ladder step (0.0123)".
    pub fn describe_margin(&self) -> String {
        match &self.largest {
            Some((name, s)) => format!("δ = ½ · {name} step {} = {}", num(*s), num(s / 2.0)),
            None => "no positive step".into(),
        }
    }

    /// The steps as evidence.
    pub fn evidence(&self) -> Vec<Comparison> {
        self.steps
            .iter()
            .map(|(name, s)| Comparison {
                label: format!("step: m(L1) − m(M) on the {name}, mean over seeds"),
                diff: Some(*s),
                ..Comparison::default()
            })
            .collect()
    }
}

/// The steps of merging the co-occurring groups (AND, OR) on the C8 data of
/// one seed: `m(merged) − m(M)`, at full data.
fn merge_steps(ctx: &Ctx<'_>, bench: &SeedBench) -> anyhow::Result<Vec<(String, f64)>> {
    if !applicable(ctx.spec, &bench.mono_cooccurring) {
        return Ok(Vec::new());
    }
    let Score::Value { value: base } = evaluate(ctx.metric, ctx.spec, &bench.mono_cooccurring)?
    else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for (family, case) in &bench.merged_cooccurring {
        if !applicable(ctx.spec, case) {
            continue;
        }
        if let Score::Value { value } = evaluate(ctx.metric, ctx.spec, case)? {
            out.push((
                format!("{family} merge of the co-occurring groups"),
                value - base,
            ));
        }
    }
    Ok(out)
}

//! Gameability (CONDITIONS.md §7): how far a metric can be made to look
//! better while the SAE does not get less polysemantic.
//!
//! From each start (the first rung of the OR, AND and absorption ladders of
//! the check toy: oracle SAEs with known `P_gt > 0`), a beam search applies
//! sequences of [`Edit`]s (merge two latents by OR or AND, absorb one into
//! another, split, add dead latents, rescale, drop a latent) and keeps the
//! sequences that lower the metric's oriented score (higher = more
//! polysemantic) most, among those whose `P_gt` does not fall below the
//! start's. It reports the best sequence, its improvement in units of the
//! metric's own OR step (`m(OR L1) − m(M)` on the same data), `P_gt` before
//! and after, and the budget spent, so that "not gameable" means "not
//! within this budget".
//!
//! Deterministic for a seed: proposals come from `Rng::derive(seed, …)`,
//! candidates are ranked by score then by proposal order, and the budget is
//! a count of metric evaluations. `P_gt` itself cannot be gamed by
//! construction: its improvement is `P_gt(start) − P_gt(after) ≤ 0`.

pub mod edit;

pub use edit::Edit;

use crate::eval::{Score, applicable, evaluate};
use crate::rng::Rng;
use crate::toy::{
    EvalCase, GroundTruthOptions, LadderFamily, ToyConfig, ToyModel, ladder, monosemantic, n_rungs,
};
use anyhow::{Context, Result};
use rdpbench_sdk::{Metric, MetricSpec};
use serde::{Deserialize, Serialize};

/// `[game]` settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GameSettings {
    /// Toy seed (directions and data).
    pub seed: u64,
    /// Rows of the data the SAEs are scored on.
    pub n_samples: usize,
    /// Longest edit sequence.
    pub depth: usize,
    /// Sequences kept per depth.
    pub beam: usize,
    /// Random latent pairs (or latents) proposed per edit kind and node.
    pub proposals: usize,
    /// Metric evaluations per start (the budget).
    pub evaluations: usize,
    /// A metric is "gameable" when its best sequence improves it by more
    /// than this many of its own OR steps.
    pub gameable_steps: f64,
}

impl Default for GameSettings {
    fn default() -> Self {
        Self {
            seed: 0,
            n_samples: 2000,
            depth: 3,
            beam: 3,
            proposals: 2,
            evaluations: 120,
            gameable_steps: 0.25,
        }
    }
}

impl GameSettings {
    pub fn validate(&self) -> Result<()> {
        anyhow::ensure!(self.n_samples >= 2, "game.n_samples must be at least 2");
        anyhow::ensure!(self.depth >= 1, "game.depth must be at least 1");
        anyhow::ensure!(self.beam >= 1, "game.beam must be at least 1");
        anyhow::ensure!(self.proposals >= 1, "game.proposals must be at least 1");
        anyhow::ensure!(self.evaluations >= 1, "game.evaluations must be at least 1");
        anyhow::ensure!(
            self.gameable_steps.is_finite() && self.gameable_steps >= 0.0,
            "game.gameable_steps must be finite and >= 0"
        );
        Ok(())
    }
}

/// The metric-independent part: the starts, `M` and the OR rung, built once.
#[derive(Debug, Clone)]
pub struct Starts {
    pub toy: ToyConfig,
    /// `(name, SAE, P_gt)`, e.g. `("OR L1", …, 0.19)`.
    pub cases: Vec<(String, EvalCase, f64)>,
    pub mono: EvalCase,
    pub or_l1: Option<EvalCase>,
}

impl Starts {
    pub fn build(toy: &ToyConfig, settings: &GameSettings) -> Result<Self> {
        settings.validate()?;
        let model = ToyModel::new(toy, settings.seed).context("game toy")?;
        let data = model.sample(0, 0, settings.n_samples);
        let gt = GroundTruthOptions::default();
        let mut cases = Vec::new();
        let mut or_l1 = None;
        for family in [
            LadderFamily::Or,
            LadderFamily::And,
            LadderFamily::Absorption,
        ] {
            if n_rungs(family, &model) < 2 {
                continue;
            }
            let case = ladder(family, &model, &data, 1)?;
            let p = case.ground_truth(&gt)?.p_gt.unwrap_or(0.0);
            if family == LadderFamily::Or {
                or_l1 = Some(case.clone());
            }
            if p > 0.0 {
                cases.push((format!("{family} L1"), case, p));
            }
        }
        anyhow::ensure!(
            !cases.is_empty(),
            "the game toy has no ladder rung with P_gt > 0 (it needs co-occurrence groups or a hierarchy)"
        );
        Ok(Self {
            toy: toy.clone(),
            cases,
            mono: monosemantic(&model, &data),
            or_l1,
        })
    }
}

/// The best sequence found from one start.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sequence {
    pub edits: Vec<Edit>,
    /// The edits in words, e.g. `["OR-merge 3+7", "split 2"]`.
    pub described: Vec<String>,
    /// The oriented score after the edits.
    pub score_after: f64,
    pub p_gt_after: f64,
    /// `score_before − score_after` (> 0: the metric looks better).
    pub improvement: f64,
    /// `improvement / unit step` ([`MetricGame::unit`]), where there is one.
    pub improvement_in_steps: Option<f64>,
}

/// One start's search.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StartResult {
    pub start: String,
    pub p_gt_before: f64,
    /// `None`: the metric is undefined or does not apply on the start.
    pub score_before: Option<f64>,
    /// The best admissible sequence (`None` when no edit was admissible).
    pub best: Option<Sequence>,
    /// Metric evaluations and `P_gt` evaluations spent.
    pub evaluations: usize,
    pub p_gt_evaluations: usize,
}

/// A metric's gameability.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricGame {
    pub id: String,
    pub oracle: bool,
    /// `m(OR L1) − m(M)`, oriented.
    pub or_step: Option<f64>,
    /// The unit of improvement: the OR step where it is positive (beyond
    /// float noise), else the largest positive `m(L1) − m(M)` of the other
    /// starts' ladders; `(ladder, step)`.
    pub unit: Option<(String, f64)>,
    pub starts: Vec<StartResult>,
    /// The largest improvement over the starts, in unit steps.
    pub best_in_steps: Option<f64>,
    /// `gameable`, `not gameable within the budget`, or why it was not
    /// measured.
    pub verdict: String,
    pub gameable: bool,
}

fn score(metric: &dyn Metric, spec: &MetricSpec, case: &EvalCase) -> Option<f64> {
    if !applicable(spec, case) {
        return None;
    }
    match evaluate(metric, spec, case) {
        Ok(Score::Value { value }) => Some(value),
        _ => None,
    }
}

/// The edits proposed from `case` at `depth`, node `node`.
fn proposals(case: &EvalCase, settings: &GameSettings, depth: usize, node: usize) -> Vec<Edit> {
    let live: Vec<usize> = {
        let mut fires = vec![false; case.d_sae()];
        for &j in &case.codes.indices {
            fires[j as usize] = true;
        }
        (0..case.d_sae()).filter(|&j| fires[j]).collect()
    };
    let mut rng = Rng::derive(settings.seed, &[0x6A3E, depth as u64, node as u64]);
    let pick = |rng: &mut Rng| live[rng.below(live.len() as u64) as usize];
    let mut out = Vec::new();
    if live.is_empty() {
        return out;
    }
    for _ in 0..settings.proposals {
        let (a, b) = (pick(&mut rng), pick(&mut rng));
        if a != b {
            out.push(Edit::MergeOr { a, b });
            out.push(Edit::MergeAnd { a, b });
            out.push(Edit::Absorb { a, b });
        }
        let a = pick(&mut rng);
        out.push(Edit::Split {
            a,
            seed: rng.next_u64(),
        });
        out.push(Edit::Drop { a: pick(&mut rng) });
        let s = if rng.next_u64() >> 63 == 0 { 0.1 } else { 10.0 };
        out.push(Edit::Rescale {
            a: pick(&mut rng),
            s,
        });
    }
    out.push(Edit::AddDead {
        seed: rng.next_u64(),
    });
    out
}

/// Searches every start for `metric`.
pub fn play(
    metric: &dyn Metric,
    spec: &MetricSpec,
    oracle: bool,
    starts: &Starts,
    settings: &GameSettings,
) -> MetricGame {
    let mono = score(metric, spec, &starts.mono);
    let or_step = match (&starts.or_l1, mono) {
        (Some(l1), Some(m)) => score(metric, spec, l1).map(|s| s - m),
        _ => None,
    };
    // A step counts as positive beyond float noise of the score's size.
    let noise = 1e-9 + 1e-6 * mono.map_or(0.0, f64::abs);
    let unit = match or_step {
        Some(s) if s > noise => Some(("OR".to_string(), s)),
        _ => starts
            .cases
            .iter()
            .filter_map(|(name, case, _)| {
                let step = score(metric, spec, case)? - mono?;
                (step > noise).then(|| (name.trim_end_matches(" L1").to_string(), step))
            })
            .max_by(|a, b| a.1.total_cmp(&b.1)),
    };
    let unit_step = unit.as_ref().map(|u| u.1);
    let results: Vec<StartResult> = starts
        .cases
        .iter()
        .map(|(name, case, p)| search(metric, spec, name, case, *p, unit_step, settings))
        .collect();
    let best_in_steps = results
        .iter()
        .filter_map(|r| r.best.as_ref()?.improvement_in_steps)
        .max_by(f64::total_cmp);
    let measured = results.iter().any(|r| r.score_before.is_some());
    let (verdict, gameable) = match (measured, &unit, best_in_steps) {
        (false, _, _) => (
            "not measured: the metric is undefined or does not apply on the starts".to_string(),
            false,
        ),
        (true, None, _) => (
            "no unit: no ladder step of the metric is positive (it cannot tell the starts from M)"
                .to_string(),
            false,
        ),
        (true, Some((family, _)), Some(b)) if b > settings.gameable_steps => (
            format!("gameable: improved by {b:.3} {family} steps while P_gt did not fall"),
            true,
        ),
        (true, Some((family, _)), b) => (
            format!(
                "not gameable within the budget (best {:.3} {family} steps ≤ {})",
                b.unwrap_or(0.0).max(0.0),
                settings.gameable_steps
            ),
            false,
        ),
    };
    MetricGame {
        id: spec.id.clone(),
        oracle,
        or_step,
        unit,
        starts: results,
        best_in_steps,
        verdict,
        gameable,
    }
}

#[derive(Clone)]
struct Node {
    case: EvalCase,
    edits: Vec<Edit>,
    score: f64,
    p_gt: f64,
}

fn search(
    metric: &dyn Metric,
    spec: &MetricSpec,
    name: &str,
    start: &EvalCase,
    p_start: f64,
    unit: Option<f64>,
    settings: &GameSettings,
) -> StartResult {
    let gt = GroundTruthOptions::default();
    let mut out = StartResult {
        start: name.to_string(),
        p_gt_before: p_start,
        score_before: score(metric, spec, start),
        best: None,
        evaluations: 1,
        p_gt_evaluations: 0,
    };
    let Some(before) = out.score_before else {
        return out;
    };
    let mut frontier = vec![Node {
        case: start.clone(),
        edits: Vec::new(),
        score: before,
        p_gt: p_start,
    }];
    let mut best: Option<Node> = None;
    'depth: for depth in 0..settings.depth {
        let mut children: Vec<(f64, usize, EvalCase, Vec<Edit>)> = Vec::new();
        for (i, node) in frontier.iter().enumerate() {
            for e in proposals(&node.case, settings, depth, i) {
                if out.evaluations >= settings.evaluations {
                    break;
                }
                let Some(case) = e.apply(&node.case) else {
                    continue;
                };
                out.evaluations += 1;
                if let Some(s) = score(metric, spec, &case) {
                    let mut edits = node.edits.clone();
                    edits.push(e);
                    let order = children.len();
                    children.push((s, order, case, edits));
                }
            }
        }
        children.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        let mut next = Vec::new();
        for (s, _, case, edits) in children {
            if next.len() >= settings.beam {
                break;
            }
            out.p_gt_evaluations += 1;
            let Ok(Some(p)) = case.ground_truth(&gt).map(|r| r.p_gt) else {
                continue;
            };
            if p < p_start - 1e-9 {
                continue; // the SAE got less polysemantic: not admissible
            }
            let node = Node {
                case,
                edits,
                score: s,
                p_gt: p,
            };
            if best.as_ref().is_none_or(|b| s < b.score) {
                best = Some(node.clone());
            }
            next.push(node);
        }
        if next.is_empty() || out.evaluations >= settings.evaluations {
            break 'depth;
        }
        frontier = next;
    }
    out.best = best.map(|b| {
        let improvement = before - b.score;
        Sequence {
            described: b.edits.iter().map(ToString::to_string).collect(),
            edits: b.edits,
            score_after: b.score,
            p_gt_after: b.p_gt,
            improvement,
            improvement_in_steps: unit.map(|u| improvement / u),
        }
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::PgtMetric as OraclePgt;
    use rdpbench_sdk::prelude::*;

    /// The number of latents that fire, fewer = more polysemantic (an OR
    /// merge removes latents): splitting a latent adds one while P_gt stays
    /// put, so it is gameable.
    struct Rate;
    impl Metric for Rate {
        fn spec(&self) -> MetricSpec {
            MetricSpec {
                id: "live-latents".into(),
                inputs: vec![Input::Codes],
                orientation: Orientation::HigherIsLessPolysemantic,
                ..OraclePgt.spec()
            }
        }
        fn compute(&self, x: &MetricInput<'_>) -> anyhow::Result<MetricOutput> {
            let c = x.codes()?;
            let mut live = vec![false; c.n_cols];
            for &j in c.indices {
                live[j as usize] = true;
            }
            Ok(MetricOutput::value(
                live.iter().filter(|&&l| l).count() as f64
            ))
        }
    }

    fn small() -> (Starts, GameSettings) {
        let settings = GameSettings {
            n_samples: 600,
            evaluations: 40,
            ..GameSettings::default()
        };
        let toy = ToyConfig::default()
            .with_appended_families(1, 2, 0.5)
            .unwrap();
        (Starts::build(&toy, &settings).unwrap(), settings)
    }

    #[test]
    fn p_gt_is_ungameable_by_construction() {
        let (starts, settings) = small();
        let g = play(&OraclePgt, &OraclePgt.spec(), true, &starts, &settings);
        assert!(!g.gameable, "{}", g.verdict);
        assert!(g.or_step.unwrap() > 0.0);
        for r in &g.starts {
            let b = r.best.as_ref().expect("some edit keeps P_gt");
            assert!(b.improvement <= 1e-9, "{b:?}");
            assert!(b.p_gt_after >= r.p_gt_before - 1e-9);
        }
    }

    #[test]
    fn a_rate_metric_is_gameable_and_the_search_is_deterministic() {
        let (starts, settings) = small();
        let g = play(&Rate, &Rate.spec(), false, &starts, &settings);
        assert!(g.gameable, "{}", g.verdict);
        assert!(g.best_in_steps.unwrap() > settings.gameable_steps);
        for r in &g.starts {
            assert!(r.evaluations <= settings.evaluations);
            if let Some(b) = &r.best {
                assert!(b.p_gt_after >= r.p_gt_before - 1e-9);
            }
        }
        assert_eq!(g, play(&Rate, &Rate.spec(), false, &starts, &settings));
    }
}

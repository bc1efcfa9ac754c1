//! # top-activation-purity: are a latent's max-activating examples about one concept?
//!
//! Why this metric: in practice monosemanticity is judged from a latent's
//! **max-activating examples**: the feature browsers of Bricken et al. 2023
//! ("Towards Monosemanticity") and automated interpretability (Bills et al.
//! 2023; Paulo et al. 2024) explain a latent from its top activations. A
//! researcher would expect the label-based proxy of that practice: how pure
//! the top activations are. It differs from `concept-purity` (all firings)
//! in exactly the way the practice is criticised: a latent can look clean at
//! its top and be polysemantic in its weaker firings (an OR-merged latent
//! whose strongest codes come from samples where both concepts co-occur).
//!
//! Definition, with "fires" = code `> 0` and `F_j` firings of latent `j`:
//!
//! 1. Top set `T_j`: the firings with code `≥ θ_j`, where `θ_j` is the
//!    `⌈F_j / 10⌉`-th largest code (top decile; ties at `θ_j` all included,
//!    so the set does not depend on token order, and a constant latent's top
//!    set is all its firings).
//! 2. `purity_j = max_c #{t ∈ T_j : y_tc = 1} / |T_j|` (a token counts for
//!    every label it carries; unlabelled tokens count in `|T_j|` only).
//! 3. `score = (1/|L|) Σ_{j ∈ L} purity_j` over live latents.
//!
//! A decile rather than a fixed count (autointerp shows ~20 examples) keeps
//! the statistic's meaning fixed as `N` grows (condition C9). Orientation:
//! higher = *less* polysemantic. Dead latents: excluded, no per-latent
//! score; undefined when no latent fires. Reads only the order of each
//! latent's codes: exactly invariant to positive rescaling. Cost
//! `O(nnz(codes) · labels per token)` expected time (a transposed copy of the
//! codes and one selection per latent), latent-major on all cores
//! (`rdpbench_kernels::label_stats`: each latent's firings and a label
//! tally), `O(nnz + d_sae + n_concepts)` memory.
#![deny(unsafe_code)]

use rdpbench_kernels::label_stats::{LabelStats, LabelTally};
use rdpbench_sdk::prelude::*;

/// Top-decile activation purity (see the crate docs).
#[derive(Debug, Default, Clone, Copy)]
pub struct TopActivationPurity;

const ID: &str = "top-activation-purity";
const DESCRIPTION: &str = "Mean over live latents of the fraction of the latent's top-decile \
    activations that carry the most frequent concept label among them.";

impl Metric for TopActivationPurity {
    fn spec(&self) -> MetricSpec {
        MetricSpec {
            id: ID.into(),
            version: "1".into(),
            description: DESCRIPTION.into(),
            citation: "max-activating examples as read in Bricken et al. 2023 and automated \
                       interpretability (Bills et al. 2023); rdpbench label-purity form"
                .into(),
            orientation: Orientation::HigherIsLessPolysemantic,
            inputs: vec![Input::Codes, Input::Labels],
            examples: vec![
                Example {
                    description: "latent 0 fires 11 times: top decile = the 2 largest codes \
                                  (both c0) → 1, although 9 weaker firings are c1; latent 1 \
                                  fires on c1 twice at one value → tie, both kept → 1"
                        .into(),
                    codes: Some(
                        (0..12)
                            .map(|t| match t {
                                0 => vec![5.0, 0.0],
                                1 => vec![4.0, 0.0],
                                2..=10 => vec![1.0, if t < 4 { 2.0 } else { 0.0 }],
                                _ => vec![0.0, 0.0],
                            })
                            .collect(),
                    ),
                    labels: Some(
                        (0..12)
                            .map(|t| match t {
                                0 | 1 => vec![1.0, 0.0],
                                2..=10 => vec![0.0, 1.0],
                                _ => vec![0.0, 0.0],
                            })
                            .collect(),
                    ),
                    expected: Some(1.0),
                    ..Example::default()
                },
                Example {
                    description: "3 firings → top ⌈3/10⌉ = 1 code, but two tie at the top (c0 \
                                  and c1) → 1/2"
                        .into(),
                    codes: Some(vec![vec![2.0], vec![2.0], vec![1.0]]),
                    labels: Some(vec![vec![1.0, 0.0], vec![0.0, 1.0], vec![1.0, 0.0]]),
                    expected: Some(0.5),
                    ..Example::default()
                },
                Example {
                    description: "no latent fires: undefined".into(),
                    codes: Some(vec![vec![0.0], vec![-3.0]]),
                    labels: Some(vec![vec![1.0], vec![1.0]]),
                    expected: None,
                    ..Example::default()
                },
            ],
        }
    }

    fn compute(&self, input: &MetricInput<'_>) -> anyhow::Result<MetricOutput> {
        let stats = LabelStats::new(input.codes()?, input.labels()?)?;
        let nc = stats.n_labels();
        let per_latent: Vec<Option<f64>> = stats.map_latents(
            || (Vec::<f32>::new(), LabelTally::new(nc, 1)),
            |(scratch, count), firings| {
                let (tok, val) = (firings.tokens, firings.values);
                let fj = val.len();
                if fj == 0 {
                    return None;
                }
                let k = fj.div_ceil(10);
                scratch.clear();
                scratch.extend_from_slice(val);
                let (_, theta, _) = scratch.select_nth_unstable_by(fj - k, f32::total_cmp);
                let theta = *theta;
                let mut top = 0u64;
                for (&t, &a) in tok.iter().zip(val) {
                    if a >= theta {
                        top += 1;
                        count.add(stats.labels_of(t as usize), 0);
                    }
                }
                let best = count.max_total();
                count.clear();
                Some(best as f64 / top as f64)
            },
        );
        let (mut sum, mut live) = (0.0f64, 0usize);
        for p in per_latent.iter().flatten() {
            sum += p;
            live += 1;
        }
        if live == 0 {
            return Ok(MetricOutput::undefined("no latent fires"));
        }
        Ok(MetricOutput::Value {
            value: sum / live as f64,
            per_latent: input.per_latent.then_some(per_latent),
        })
    }
}

rdpbench_sdk::export_plugin!(metrics: [TopActivationPurity]);

#[cfg(test)]
mod tests {
    use super::*;
    use rdpbench_core::conditions::{CheckSettings, ConditionId};
    use rdpbench_sdk::testing::{check_examples, compute_on_codes_and_labels};

    fn run(codes: Vec<Vec<f32>>, labels: Vec<Vec<f32>>) -> MetricOutput {
        compute_on_codes_and_labels(&TopActivationPurity, codes, labels).unwrap()
    }

    fn data() -> (Vec<Vec<f32>>, Vec<Vec<f32>>) {
        let h = |a: usize, b: usize| (a * 7919 + b * 104729 + a * b * 31) % 101;
        let codes = (0..80)
            .map(|t| {
                (0..4)
                    .map(|j| {
                        if h(t, j) < 50 {
                            h(t + 3, j) as f32 / 7.0 + 0.1
                        } else {
                            0.0
                        }
                    })
                    .collect()
            })
            .collect();
        let labels = (0..80)
            .map(|t| {
                (0..3)
                    .map(|c| if h(t + 11, c) < 40 { 1.0 } else { 0.0 })
                    .collect()
            })
            .collect();
        (codes, labels)
    }

    #[test]
    fn declared_examples_hold() {
        assert_eq!(check_examples(&TopActivationPurity).unwrap(), 3);
    }

    #[test]
    fn permutation_and_rescaling_do_not_matter() {
        let (c, y) = data();
        let a = run(c.clone(), y.clone()).as_value().unwrap();
        // Power-of-two scales keep every order and tie exact in f32.
        let s = [0.125f32, 4.0, 16.0, 0.5];
        let c2 = c
            .iter()
            .map(|r| (0..4).rev().map(|j| r[j] * s[j]).collect())
            .collect();
        let b = run(c2, y).as_value().unwrap();
        assert!((a - b).abs() <= 1e-12, "{a} vs {b}");
        assert!(a > 0.0 && a <= 1.0);
    }

    #[test]
    fn single_sample_and_empty() {
        assert_eq!(
            run(vec![vec![1.0, 0.0]], vec![vec![0.0, 1.0]]).as_value(),
            Some(1.0)
        );
        assert_eq!(run(vec![], vec![]).as_value(), None);
    }

    #[test]
    fn passes_permutation_and_definedness_conditions() {
        let report = rdpbench_core::testing::check(
            TopActivationPurity,
            &CheckSettings {
                conditions: vec!["C3".into(), "C10".into()],
                ..CheckSettings::quick()
            },
        );
        rdpbench_core::testing::assert_passes(&report, &[ConditionId::C3, ConditionId::C10]);
    }
}

//! # concept-purity: how much of a latent's firing its dominant concept explains
//!
//! Class purity as used in MonoLoss (Nasiri-Sarvi et al. 2026, arXiv
//! 2602.12403): the fraction of a latent's activating samples that belong to
//! its dominant class. With codes `a: [N, d_sae]` ("fires" = `a_tj > 0`),
//! binary labels `y: [N, n_concepts]`, the firing count `F_j = #{t : a_tj > 0}`
//! and the co-firing counts `n_jc = #{t : a_tj > 0, y_tc = 1}`:
//!
//! `purity_j = max_c n_jc / F_j`,   `score = (1/|L|) Σ_{j ∈ L} purity_j`
//!
//! over the live latents `L = {j : F_j > 0}` (unweighted, as MonoLoss
//! averages over latents). Count-based: the activation magnitude is not used.
//!
//! Multi-label samples: toy samples may carry several concepts (images in
//! MonoLoss carry one class). A sample counts towards every label it carries,
//! so a latent firing on `{c0, c1}` and on `{c1}` has purity 1 (`c1` is on
//! all of them); a sample with no label counts in `F_j` only (it carries no
//! concept, so not the dominant one either). `purity_j ∈ [0, 1]`, 1 for a
//! latent that fires only where one concept is present. Orientation: higher
//! = *less* polysemantic.
//!
//! Dead latents have no per-latent score and are excluded. Undefined when no
//! latent fires. Exactly invariant to latent order (each latent's counts are
//! integers) and to positive rescaling (only the sign of a code is read).
//! Cost `O(nnz(codes) · labels per sample + d_sae · n_concepts)` time on all
//! cores, concept-major (one concept's `[d_sae]` count column at a time,
//! cache-resident, folded into a running maximum; the counts and columns
//! are `rdpbench_kernels::label_stats` with `Count`), `O(d_sae · n_chunks +
//! nnz(labels))` memory: no `d_sae × n_concepts` table.
#![deny(unsafe_code)]

use rdpbench_kernels::label_stats::{Count, LabelStats, Tokens};
use rdpbench_sdk::prelude::*;

/// Concept purity (see the crate docs).
#[derive(Debug, Default, Clone, Copy)]
pub struct ConceptPurity;

const ID: &str = "concept-purity";
const DESCRIPTION: &str = "Mean over live latents of the fraction of the samples a latent fires on \
    that carry its most frequent concept label.";

impl Metric for ConceptPurity {
    fn spec(&self) -> MetricSpec {
        MetricSpec {
            id: ID.into(),
            version: "1".into(),
            description: DESCRIPTION.into(),
            citation: "class purity in MonoLoss (Nasiri-Sarvi et al. 2026, arXiv 2602.12403)"
                .into(),
            orientation: Orientation::HigherIsLessPolysemantic,
            inputs: vec![Input::Codes, Input::Labels],
            examples: vec![
                Example {
                    description: "latent 0 fires on labels c0, c0, c1 → 2/3; latent 1 on c1 → 1; \
                                  mean 5/6"
                        .into(),
                    codes: Some(vec![
                        vec![1.0, 0.0],
                        vec![0.5, 0.0],
                        vec![2.0, 0.0],
                        vec![0.0, 3.0],
                    ]),
                    labels: Some(vec![
                        vec![1.0, 0.0],
                        vec![1.0, 0.0],
                        vec![0.0, 1.0],
                        vec![0.0, 1.0],
                    ]),
                    expected: Some(5.0 / 6.0),
                    ..Example::default()
                },
                Example {
                    description: "fires on {c0, c1}, {c1} and an unlabelled sample: c1 on 2 of 3 \
                                  → 2/3"
                        .into(),
                    codes: Some(vec![vec![1.0], vec![1.0], vec![4.0]]),
                    labels: Some(vec![vec![1.0, 1.0], vec![0.0, 1.0], vec![0.0, 0.0]]),
                    expected: Some(2.0 / 3.0),
                    ..Example::default()
                },
                Example {
                    description: "no latent fires (a negative code is not a firing): undefined"
                        .into(),
                    codes: Some(vec![vec![0.0, -1.0]]),
                    labels: Some(vec![vec![1.0]]),
                    expected: None,
                    ..Example::default()
                },
            ],
        }
    }

    fn compute(&self, input: &MetricInput<'_>) -> anyhow::Result<MetricOutput> {
        let stats = LabelStats::new(input.codes()?, input.labels()?)?;
        let f = stats.n_latents();
        let fires = stats.firing_counts(Tokens::All);
        // Concept-major: one concept's `[d_sae]` column of co-firing counts
        // `n_·c` at a time (a token counts for every label it carries),
        // folded into a running per-latent maximum. Exact integers, so the
        // concept chunks merge in any order.
        let mut best = vec![0u64; f];
        for part in stats.fold_label_columns(
            Count,
            |_| true,
            || vec![0u64; f],
            |best, _, column| {
                for (b, &x) in best.iter_mut().zip(column) {
                    *b = (*b).max(x);
                }
            },
        ) {
            best.iter_mut()
                .zip(&part)
                .for_each(|(a, &b)| *a = (*a).max(b));
        }
        let per_latent: Vec<Option<f64>> = (0..f)
            .map(|j| (fires[j] > 0).then(|| best[j] as f64 / fires[j] as f64))
            .collect();
        let (mut sum, mut k) = (0.0f64, 0usize);
        for p in per_latent.iter().flatten() {
            sum += p;
            k += 1;
        }
        if k == 0 {
            return Ok(MetricOutput::undefined("no latent fires"));
        }
        Ok(MetricOutput::Value {
            value: sum / k as f64,
            per_latent: input.per_latent.then_some(per_latent),
        })
    }
}

rdpbench_sdk::export_plugin!(metrics: [ConceptPurity]);

#[cfg(test)]
mod tests {
    use super::*;
    use rdpbench_core::conditions::{CheckSettings, ConditionId};
    use rdpbench_sdk::testing::{
        check_examples, compute_on_codes_and_labels, hashed_codes_and_labels as data,
    };

    fn run(codes: Vec<Vec<f32>>, labels: Vec<Vec<f32>>) -> MetricOutput {
        compute_on_codes_and_labels(&ConceptPurity, codes, labels).unwrap()
    }

    #[test]
    fn declared_examples_hold() {
        assert_eq!(check_examples(&ConceptPurity).unwrap(), 3);
    }

    #[test]
    fn permutation_and_rescaling_do_not_matter() {
        let (c, y) = data();
        let a = run(c.clone(), y.clone()).as_value().unwrap();
        let s = [0.1f32, 3.0, 10.0, 0.7];
        let c2 = c
            .iter()
            .map(|r| (0..4).rev().map(|j| r[j] * s[j]).collect())
            .collect();
        let b = run(c2, y).as_value().unwrap();
        assert!((a - b).abs() <= 1e-15, "{a} vs {b}");
    }

    #[test]
    fn latent_on_unlabelled_samples_only_has_purity_zero() {
        assert_eq!(
            run(vec![vec![1.0], vec![2.0]], vec![vec![0.0], vec![0.0]]),
            MetricOutput::Value {
                value: 0.0,
                per_latent: Some(vec![Some(0.0)]),
            }
        );
        assert_eq!(run(vec![], vec![]).as_value(), None);
    }

    #[test]
    fn passes_permutation_and_definedness_conditions() {
        let report = rdpbench_core::testing::check(
            ConceptPurity,
            &CheckSettings {
                conditions: vec!["C3".into(), "C10".into()],
                ..CheckSettings::quick()
            },
        );
        rdpbench_core::testing::assert_passes(&report, &[ConditionId::C3, ConditionId::C10]);
    }
}

//! # concept-entropy: how many concepts a latent fires on, counting firings
//!
//! The count-based (unweighted) variant of the concept entropy that
//! `metrics/template` (`label-entropy`) computes with activation weights.
//! With "fires" = code `> 0`, binary labels `y` and `|y_t|` labels on token
//! `t`, each labelled token a latent fires on counts once, split equally
//! among its labels:
//!
//! `n_jc = Σ_{t : a_tj > 0, |y_t| > 0} y_tc / |y_t|`,   `p_jc = n_jc / Σ_c n_jc`,
//! `H_j = −Σ_c p_jc ln p_jc`,   `E_j = exp(H_j)` (effective number of concepts),
//!
//! `score = (1/|L|) Σ_{j ∈ L} (E_j − 1)` over the latents `L` that fire on at
//! least one labelled token. 0 when every latent fires on one concept only.
//! Orientation: higher = more polysemantic.
//!
//! How it differs from `label-entropy`, and why both: (1) counts, not
//! activation mass: a latent that fires strongly on concept A and weakly but
//! often on concept B is counted as mixing both, which is what a human
//! reading its firings (not its top activations) would see, and the score
//! cannot depend on the code scale at all; (2) every latent weighs the same
//! (`label-entropy` weights by firing frequency), so rare polysemantic
//! latents are not drowned by frequent ones. Comparing the two shows which
//! of these choices matters to the conditions.
//!
//! Unlabelled tokens are skipped (they carry no concept). A latent that fires
//! only on unlabelled tokens, or never, has no per-latent score. Undefined
//! when no latent fires on a labelled token. Cost `O(nnz(codes) · labels per
//! token + d_sae · n_concepts)` time on all cores, concept-major (one
//! concept's `[d_sae]` mass column at a time, cache-resident; entropy terms
//! summed per fixed chunk of 8 concepts, chunks merged in order; the counts
//! and columns are `rdpbench_kernels::label_stats` with `SplitEqually`),
//! `O(d_sae · n_chunks + nnz(labels))` memory.
#![deny(unsafe_code)]

use rdpbench_kernels::label_stats::{LabelStats, SplitEqually, Tokens};
use rdpbench_sdk::prelude::*;

/// Count-based concept entropy (see the crate docs).
#[derive(Debug, Default, Clone, Copy)]
pub struct ConceptEntropy;

const ID: &str = "concept-entropy";
const DESCRIPTION: &str = "Mean over latents of the effective number of concept labels among the \
    labelled tokens the latent fires on (each firing counted once), minus one.";

impl Metric for ConceptEntropy {
    fn spec(&self) -> MetricSpec {
        MetricSpec {
            id: ID.into(),
            version: "1".into(),
            description: DESCRIPTION.into(),
            citation: "rdpbench; count-based variant of concept entropy (cf. arXiv 2605.14694 \
                       and metrics/template)"
                .into(),
            orientation: Orientation::HigherIsMorePolysemantic,
            inputs: vec![Input::Codes, Input::Labels],
            examples: vec![
                Example {
                    description: "latent 0 fires on c0, c0, c1 → E = 3/2^(2/3); latent 1 on c1 \
                                  with a large code → E = 1; mean of E − 1"
                        .into(),
                    codes: Some(vec![
                        vec![0.1, 0.0],
                        vec![0.1, 0.0],
                        vec![5.0, 0.0],
                        vec![0.0, 9.0],
                    ]),
                    labels: Some(vec![
                        vec![1.0, 0.0],
                        vec![1.0, 0.0],
                        vec![0.0, 1.0],
                        vec![0.0, 1.0],
                    ]),
                    expected: Some((3.0 / 2f64.powf(2.0 / 3.0) - 1.0) / 2.0),
                    ..Example::default()
                },
                Example {
                    description: "one token with labels {c0, c1} and one unlabelled token: \
                                  p = (1/2, 1/2) → E − 1 = 1"
                        .into(),
                    codes: Some(vec![vec![1.0], vec![1.0]]),
                    labels: Some(vec![vec![1.0, 1.0], vec![0.0, 0.0]]),
                    expected: Some(1.0),
                    ..Example::default()
                },
                Example {
                    description: "the only firing is on an unlabelled token: undefined".into(),
                    codes: Some(vec![vec![1.0], vec![0.0]]),
                    labels: Some(vec![vec![0.0], vec![1.0]]),
                    expected: None,
                    ..Example::default()
                },
            ],
        }
    }

    fn compute(&self, input: &MetricInput<'_>) -> anyhow::Result<MetricOutput> {
        let stats = LabelStats::new(input.codes()?, input.labels()?)?;
        let f = stats.n_latents();
        // Firings on labelled tokens.
        let labelled = stats.firing_counts(Tokens::Labelled);
        // Concept-major: one concept's `[d_sae]` mass column `n_·c` at a
        // time (each firing split equally among its token's labels, summed
        // in token order), its entropy terms added per latent; the fixed
        // concept chunks' sums are merged in order, so the thread count
        // changes no bit.
        let mut h = vec![0.0f64; f];
        for part in stats.fold_label_columns(
            SplitEqually,
            |_| true,
            || vec![0.0f64; f],
            |h, _, column| {
                for ((hj, &m), &l) in h.iter_mut().zip(column).zip(&labelled) {
                    if m > 0.0 {
                        let p = m / l as f64;
                        *hj += -p * p.ln();
                    }
                }
            },
        ) {
            h.iter_mut().zip(&part).for_each(|(a, &b)| *a += b);
        }
        let per_latent: Vec<Option<f64>> = (0..f)
            .map(|j| (labelled[j] > 0).then(|| h[j].exp()))
            .collect();
        let (mut sum, mut k) = (0.0f64, 0usize);
        for e in per_latent.iter().flatten() {
            sum += e - 1.0;
            k += 1;
        }
        if k == 0 {
            return Ok(MetricOutput::undefined(
                "no latent fires on a labelled token",
            ));
        }
        Ok(MetricOutput::Value {
            value: sum / k as f64,
            per_latent: input.per_latent.then_some(per_latent),
        })
    }
}

rdpbench_sdk::export_plugin!(metrics: [ConceptEntropy]);

#[cfg(test)]
mod tests {
    use super::*;
    use rdpbench_core::conditions::{CheckSettings, ConditionId};
    use rdpbench_sdk::testing::{
        check_examples, compute_on_codes_and_labels, hashed_codes_and_labels as data,
    };

    fn run(codes: Vec<Vec<f32>>, labels: Vec<Vec<f32>>) -> MetricOutput {
        compute_on_codes_and_labels(&ConceptEntropy, codes, labels).unwrap()
    }

    #[test]
    fn declared_examples_hold() {
        assert_eq!(check_examples(&ConceptEntropy).unwrap(), 3);
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
        assert!((a - b).abs() <= 1e-12, "{a} vs {b}");
        assert!(a > 0.0);
    }

    #[test]
    fn monosemantic_codes_score_zero_and_empty_is_undefined() {
        let y = vec![vec![1.0, 0.0], vec![0.0, 1.0], vec![1.0, 0.0]];
        assert_eq!(run(y.clone(), y).as_value(), Some(0.0));
        assert_eq!(run(vec![], vec![]).as_value(), None);
    }

    #[test]
    fn passes_permutation_and_definedness_conditions() {
        let report = rdpbench_core::testing::check(
            ConceptEntropy,
            &CheckSettings {
                conditions: vec!["C3".into(), "C10".into()],
                ..CheckSettings::quick()
            },
        );
        rdpbench_core::testing::assert_passes(&report, &[ConditionId::C3, ConditionId::C10]);
    }
}

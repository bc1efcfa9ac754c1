//! # label-entropy: effective number of concept labels per latent
//!
//! For every live latent `j` (one that fires on at least one labelled token),
//! the activation mass it puts on each concept label `c`:
//!
//! `m_jc = Σ_{t : a_tj > 0} a_tj · y_tc / |y_t|`
//!
//! where `a` are the codes `[n_tokens, d_sae]`, `y` the binary labels
//! `[n_tokens, n_concepts]` and `|y_t|` the number of labels of token `t`: a
//! token carrying several labels splits its weight equally among them, and a
//! token carrying none is skipped. With `p_jc = m_jc / Σ_c m_jc`,
//! `H_j = −Σ_c p_jc ln p_jc` and the effective number of labels `exp(H_j)`:
//!
//! `score = Σ_j f_j (exp(H_j) − 1) / Σ_j f_j`, `f_j` = number of labelled
//! tokens on which latent `j` fires.
//!
//! 0 for an SAE whose every latent fires on one concept only; higher means
//! more polysemantic. Undefined when no latent fires on a labelled token.
//! Dead latents have no per-latent score. Cost `O(nnz(codes) · labels per
//! token)` time, `O(d_sae · n_concepts)` memory.
//!
//! This crate is also the template `rdpbench new metric` copies: the whole
//! plugin is this file, one `impl Metric` and one `export_plugin!` line.
#![deny(unsafe_code)]

use rdpbench_sdk::prelude::*;

/// Concept-label entropy (see the crate docs for the formula).
#[derive(Debug, Default, Clone, Copy)]
pub struct LabelEntropy;

const ID: &str = "label-entropy";
const DESCRIPTION: &str = "Effective number of concept labels among each latent's activations \
    (exp of the activation-weighted label entropy), minus one, averaged with firing-frequency weights.";

impl Metric for LabelEntropy {
    fn spec(&self) -> MetricSpec {
        MetricSpec {
            id: ID.into(),
            version: "1".into(),
            description: DESCRIPTION.into(),
            citation: "rdpbench built-in; cf. concept entropy in arXiv 2605.14694".into(),
            orientation: Orientation::HigherIsMorePolysemantic,
            inputs: vec![Input::Codes, Input::Labels],
            examples: vec![
                Example {
                    description: "latent 0 splits its mass over two labels, latent 1 is pure: \
                                  (2·(2−1) + 1·(1−1)) / 3"
                        .into(),
                    codes: Some(vec![vec![1.0, 0.0], vec![1.0, 0.0], vec![0.0, 2.0]]),
                    labels: Some(vec![vec![1.0, 0.0], vec![0.0, 1.0], vec![0.0, 1.0]]),
                    expected: Some(2.0 / 3.0),
                    ..Example::default()
                },
                Example {
                    description:
                        "a token with two labels splits its weight: p = (1/2, 1/2) → exp(H) = 2"
                            .into(),
                    codes: Some(vec![vec![3.0]]),
                    labels: Some(vec![vec![1.0, 1.0]]),
                    expected: Some(1.0),
                    ..Example::default()
                },
                Example {
                    description: "no latent fires: undefined".into(),
                    codes: Some(vec![vec![0.0, 0.0]]),
                    labels: Some(vec![vec![1.0, 0.0]]),
                    expected: None,
                    ..Example::default()
                },
            ],
        }
    }

    fn compute(&self, input: &MetricInput<'_>) -> anyhow::Result<MetricOutput> {
        let codes = input.codes()?;
        let labels = input.labels()?;
        ensure!(
            codes.n_rows == labels.n_rows,
            "codes have {} rows but labels have {}",
            codes.n_rows,
            labels.n_rows
        );
        let (d_sae, n_concepts) = (codes.n_cols, labels.n_cols);
        // mass[j * n_concepts + c] = m_jc; fires[j] = f_j.
        let mut mass = vec![0.0f64; d_sae * n_concepts];
        let mut fires = vec![0u64; d_sae];
        for t in 0..codes.n_rows {
            let concepts = labels.row_indices(t);
            if concepts.is_empty() {
                continue;
            }
            let share = 1.0 / concepts.len() as f64;
            for (j, a) in codes.row_iter(t) {
                if a <= 0.0 {
                    continue;
                }
                fires[j] += 1;
                let row = &mut mass[j * n_concepts..(j + 1) * n_concepts];
                for &c in concepts {
                    row[c as usize] += a as f64 * share;
                }
            }
        }
        let mut per_latent = input.per_latent.then(|| vec![None; d_sae]);
        let (mut num, mut den) = (0.0f64, 0.0f64);
        for j in 0..d_sae {
            if fires[j] == 0 {
                continue;
            }
            let row = &mass[j * n_concepts..(j + 1) * n_concepts];
            let total: f64 = row.iter().sum();
            let entropy: f64 = row
                .iter()
                .filter(|&&m| m > 0.0)
                .map(|&m| {
                    let p = m / total;
                    -p * p.ln()
                })
                .sum();
            let n_eff = entropy.exp();
            if let Some(p) = per_latent.as_mut() {
                p[j] = Some(n_eff);
            }
            num += fires[j] as f64 * (n_eff - 1.0);
            den += fires[j] as f64;
        }
        if den == 0.0 {
            return Ok(MetricOutput::undefined(
                "no latent fires on a labelled token",
            ));
        }
        Ok(MetricOutput::Value {
            value: num / den,
            per_latent,
        })
    }
}

rdpbench_sdk::export_plugin!(metrics: [LabelEntropy]);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declared_examples_hold() {
        assert_eq!(
            rdpbench_sdk::testing::check_examples(&LabelEntropy).unwrap(),
            3
        );
    }

    #[test]
    fn latent_order_does_not_matter() {
        let a = CsrMatrix::from_dense(
            &DenseMatrix::from_vec(3, 2, vec![1.0, 0.0, 1.0, 0.5, 0.0, 2.0])
                .unwrap()
                .view(),
        );
        let b = CsrMatrix::from_dense(
            &DenseMatrix::from_vec(3, 2, vec![0.0, 1.0, 0.5, 1.0, 2.0, 0.0])
                .unwrap()
                .view(),
        );
        let mut y = CsrMatrix::from_dense(
            &DenseMatrix::from_vec(3, 2, vec![1.0, 0.0, 0.0, 1.0, 0.0, 1.0])
                .unwrap()
                .view(),
        );
        y.values.clear();
        let run = |codes: &CsrMatrix| {
            let input = MetricInput {
                n_tokens: 3,
                d_in: 0,
                d_sae: 2,
                n_concepts: 2,
                decoder: None,
                encoder: None,
                activations: None,
                codes: Some(codes.view()),
                labels: Some(y.view()),
                concept_directions: None,
                config: "{}",
                per_latent: true,
            };
            LabelEntropy.compute(&input).unwrap().as_value().unwrap()
        };
        assert_eq!(run(&a), run(&b));
    }
}

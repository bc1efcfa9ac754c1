//! # mean-firing-density: how often the live latents fire
//!
//! With codes `a: [N, d_sae]`, the firing count `c_j = #{t : a_tj > 0}`, the
//! firing frequency (density) `f_j = c_j / N` and the live latents
//! `L = {j : c_j > 0}`:
//!
//! `score = (1/|L|) Σ_{j ∈ L} f_j = Σ_j c_j / (|L| · N)`.
//!
//! The hypothesis it encodes: a latent that fires on many tokens serves many
//! concepts, so higher = more polysemantic. It is a baseline, not a
//! recommendation: it reads the rate alone, which is exactly what condition
//! C11 (density is not polysemanticity) is there to catch. Firing frequencies
//! are the feature-density statistic of SAEBench core and of the density
//! histograms in Bricken et al. 2023 ("Towards Monosemanticity").
//!
//! Reads the codes only. A negative or zero code is "not firing". Dead
//! latents (`c_j = 0`) are excluded from the mean and get no per-latent score;
//! the per-latent score of a live latent is `f_j`. Undefined when `N = 0` or
//! no latent fires. The counts are integers and the mean is one division of
//! their exact sum, so latent order cannot change a bit of the result. Cost
//! `O(nnz(codes))` time over fixed token chunks on all cores,
//! `O(d_sae · n_chunks)` memory.
#![deny(unsafe_code)]

use rdpbench_kernels::map_chunks;
use rdpbench_sdk::prelude::*;

/// Tokens per parallel chunk (a chunk's `u32` counts cannot overflow).
const TOKEN_CHUNK: usize = 32_768;

/// Mean firing density of live latents (see the crate docs).
#[derive(Debug, Default, Clone, Copy)]
pub struct MeanFiringDensity;

const ID: &str = "mean-firing-density";
const DESCRIPTION: &str = "Mean over live latents of the fraction of tokens on which the latent \
    fires (code > 0).";

impl Metric for MeanFiringDensity {
    fn spec(&self) -> MetricSpec {
        MetricSpec {
            id: ID.into(),
            version: "1".into(),
            description: DESCRIPTION.into(),
            citation: "rdpbench baseline; feature density as in SAEBench core (Karvonen et al. \
                       2025) and Bricken et al. 2023"
                .into(),
            orientation: Orientation::HigherIsMorePolysemantic,
            inputs: vec![Input::Codes],
            examples: vec![
                Example {
                    description: "f = (3/4, 1/4) and a dead latent: (3/4 + 1/4) / 2".into(),
                    codes: Some(vec![
                        vec![1.0, 0.0, 0.0],
                        vec![2.0, 3.0, 0.0],
                        vec![0.0, 0.0, 0.0],
                        vec![0.5, 0.0, 0.0],
                    ]),
                    expected: Some(0.5),
                    ..Example::default()
                },
                Example {
                    description: "a negative code is not a firing: only latent 1 is live, f = 1"
                        .into(),
                    codes: Some(vec![vec![-1.0, 2.0], vec![0.0, 1.0]]),
                    expected: Some(1.0),
                    ..Example::default()
                },
                Example {
                    description: "no latent fires: undefined".into(),
                    codes: Some(vec![vec![0.0, 0.0], vec![0.0, 0.0]]),
                    expected: None,
                    ..Example::default()
                },
            ],
        }
    }

    fn compute(&self, input: &MetricInput<'_>) -> anyhow::Result<MetricOutput> {
        let codes = input.codes()?;
        let n = codes.n_rows;
        // Integer counts per token chunk, summed: exact, so the chunking and
        // the thread count cannot change a bit.
        let partial = map_chunks(n, TOKEN_CHUNK, |tokens| {
            let mut count = vec![0u32; codes.n_cols];
            for t in tokens {
                let idx = codes.row_indices(t);
                match codes.row_values(t) {
                    Some(vals) => {
                        for (&j, &a) in idx.iter().zip(vals) {
                            count[j as usize] += (a > 0.0) as u32;
                        }
                    }
                    None => idx.iter().for_each(|&j| count[j as usize] += 1),
                }
            }
            count
        });
        let mut count = vec![0u64; codes.n_cols];
        for part in &partial {
            for (c, &p) in count.iter_mut().zip(part) {
                *c += p as u64;
            }
        }
        let n_live = count.iter().filter(|&&c| c > 0).count();
        if n == 0 || n_live == 0 {
            return Ok(MetricOutput::undefined(format!(
                "no latent fires ({n} tokens, {} latents)",
                codes.n_cols
            )));
        }
        let total: u64 = count.iter().sum();
        let per_latent = count
            .iter()
            .map(|&c| (c > 0).then(|| c as f64 / n as f64))
            .collect();
        Ok(MetricOutput::Value {
            value: total as f64 / (n_live as f64 * n as f64),
            per_latent: Some(per_latent),
        })
    }
}

rdpbench_sdk::export_plugin!(metrics: [MeanFiringDensity]);

#[cfg(test)]
mod tests {
    use super::*;
    use rdpbench_sdk::testing::{ExampleData, check_examples};

    fn run(codes: Vec<Vec<f32>>) -> MetricOutput {
        let ex = Example {
            codes: Some(codes),
            ..Example::default()
        };
        let data = ExampleData::from_example(&ex).unwrap();
        MeanFiringDensity
            .compute(&data.input(&[Input::Codes]))
            .unwrap()
    }

    #[test]
    fn declared_examples_hold() {
        assert_eq!(check_examples(&MeanFiringDensity).unwrap(), 3);
    }

    #[test]
    fn permutation_rescaling_and_dead_padding_are_exact() {
        let a = vec![
            vec![1.0, 0.0, 2.0],
            vec![0.0, 0.0, 1.0],
            vec![3.0, 0.5, 0.0],
        ];
        // Latents reversed, rescaled by positive factors, and two dead latents added.
        let b = a
            .iter()
            .map(|r| vec![0.0, r[2] * 10.0, r[1] * 0.1, 0.0, r[0] * 3.0])
            .collect();
        let (va, vb) = (run(a).as_value().unwrap(), run(b).as_value().unwrap());
        // (2/3 + 1/3 + 2/3) / 3 = 5/9.
        assert_eq!(va.to_bits(), vb.to_bits());
        assert!((va - 5.0 / 9.0).abs() < 1e-15);
    }

    #[test]
    fn edge_cases() {
        // No tokens, no latents: undefined, not NaN.
        assert_eq!(run(vec![]).as_value(), None);
        // One latent, one constant positive value on every token: f = 1.
        assert_eq!(
            run(vec![vec![0.7]; 3]),
            MetricOutput::Value {
                value: 1.0,
                per_latent: Some(vec![Some(1.0)]),
            }
        );
        // N = 1 with a dead latent.
        assert_eq!(
            run(vec![vec![0.0, 2.0]]),
            MetricOutput::Value {
                value: 1.0,
                per_latent: Some(vec![None, Some(1.0)]),
            }
        );
    }
}

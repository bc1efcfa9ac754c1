//! # description-length: bits per token to transmit the codes
//!
//! The minimum-description-length view of SAEs (Ayonrinde, Pearce & Sharkey
//! 2024, "Interpretability as Compression: Reconsidering SAE Explanations of
//! Neural Activations with MDL-SAEs"): an SAE explains activations well when
//! its codes are cheap to transmit. rdpbench's precise, data-only version:
//! each latent's codes are sent with an independent two-part code,
//!
//! - **index cost**: whether latent `j` fires on a token, an ideal entropy
//!   code for a Bernoulli(`f_j`) source, `h(f_j) = −f_j log₂ f_j −
//!   (1−f_j) log₂(1−f_j)` bits per token (`f_j = F_j / N`, fires = code `> 0`).
//!   This replaces the naive `L0 · log₂ d_sae`, which would charge dead
//!   latents (the width) for nothing;
//! - **value cost**: when it fires, its value relative to the latent's own
//!   maximum, `r = a / max_t a_tj ∈ (0, 1]`, rounded to the nearest of the
//!   17 levels `0, 1/16, …, 1` (4-bit precision relative to the latent's
//!   range, scale-free per latent), sent with the plug-in entropy `H_j` (bits)
//!   of that level's distribution over the latent's firings.
//!
//! `DL = Σ_j [h(f_j) + f_j · H_j]` bits per token; per-latent score: latent
//! `j`'s term. Model cost (the per-latent tables) is ignored: it does not grow
//! with `N`.
//!
//! Where it departs from the source: MDL-SAE fixes the reconstruction error,
//! comparing description lengths only among SAEs whose error is within a
//! tolerance `ε` (the description is of the activations *to that
//! precision*). This metric ignores reconstruction error entirely: it reads
//! codes only, so an SAE that reconstructs badly can score a short
//! description. Read it at matched distortion (`rdpbench eval` reports `mse`
//! and `explained_variance` beside it). The source's own quantity needs a
//! tolerance and a choice among SAEs, not one SAE's codes, so it is not
//! offered as a config; the code-length terms follow the source's two-part
//! code with the departures stated above (entropy-coded indices instead of
//! `L0 · log₂ d_sae`, 4-bit relative values).
//!
//! Orientation: higher = more polysemantic, which is the MDL literature's
//! claim (shorter description = better explanation). Note that the
//! rate-distortion-polysemanticity argument (arXiv 2605.14694) predicts the
//! opposite sign for merges that save rate (AND merges lower L0, so lower
//! `DL`), and that `DL` grows with density (C11): the conditions decide.
//! Plug-in entropies are biased at small `N` (C9 may flag it).
//!
//! Dead latents contribute exactly 0 and have no per-latent score, so dead
//! padding changes nothing. Undefined when no latent fires. Rounding to
//! level centres (not floor bins) keeps ratios such as 1/2, which merged
//! codes produce, away from level boundaries, so f32 rescaling does not flip
//! levels there. Cost `O(nnz(codes) + d_sae · 17 · n_chunks)` time: two passes over
//! fixed token chunks on all cores, merged exactly; `O(d_sae · 17 ·
//! n_chunks)` memory.
#![deny(unsafe_code)]

use rdpbench_kernels::map_chunks;
use rdpbench_sdk::prelude::*;

/// Tokens per parallel chunk (a chunk's `u32` counts cannot overflow).
const TOKEN_CHUNK: usize = 32_768;

/// Description length of the codes (see the crate docs).
#[derive(Debug, Default, Clone, Copy)]
pub struct DescriptionLength;

const ID: &str = "description-length";
const DESCRIPTION: &str = "Bits per token to transmit the codes: per latent, the Bernoulli entropy \
    of firing plus the firing rate times the entropy of its 4-bit relative value.";
/// Quantization levels per unit of a latent's maximum.
const LEVELS: usize = 16;

/// `x.round() as usize` for finite `x ∈ [0, 2⁵²)` (ties away from zero),
/// without the libm `round` call: `x − ⌊x⌋` is exact in that range, so the
/// result is bit-identical to `f64::round`.
fn round_half_away(x: f64) -> usize {
    let whole = x as usize;
    if x - whole as f64 >= 0.5 {
        whole + 1
    } else {
        whole
    }
}

fn plogp(p: f64) -> f64 {
    if p > 0.0 { -p * p.log2() } else { 0.0 }
}

impl Metric for DescriptionLength {
    fn spec(&self) -> MetricSpec {
        MetricSpec {
            id: ID.into(),
            version: "1".into(),
            description: DESCRIPTION.into(),
            citation: "MDL view of SAEs (Ayonrinde, Pearce & Sharkey 2024, Interpretability as Compression); \
                       rdpbench's two-part code"
                .into(),
            orientation: Orientation::HigherIsMorePolysemantic,
            inputs: vec![Input::Codes],
            examples: vec![
                Example {
                    description: "fires on 2 of 4 tokens at one value: h(1/2) = 1 bit, value \
                                  entropy 0 → 1"
                        .into(),
                    codes: Some(vec![vec![3.0], vec![3.0], vec![0.0], vec![0.0]]),
                    expected: Some(1.0),
                    ..Example::default()
                },
                Example {
                    description: "latent 0: values 2 and 1 (levels 16/16, 8/16) on 2 of 4 tokens \
                                  → 1 + ½·1; latent 1 on 1 of 4 → h(1/4); latent 2 dead → 0"
                        .into(),
                    codes: Some(vec![
                        vec![2.0, 0.0, 0.0],
                        vec![1.0, 0.0, 0.0],
                        vec![0.0, 0.0, 0.0],
                        vec![0.0, 3.0, 0.0],
                    ]),
                    expected: Some(1.5 + 0.5 + 0.75 * (4.0f64 / 3.0).log2()),
                    ..Example::default()
                },
                Example {
                    description: "no latent fires: undefined".into(),
                    codes: Some(vec![vec![0.0, 0.0], vec![0.0, -1.0]]),
                    expected: None,
                    ..Example::default()
                },
            ],
        }
    }

    fn compute(&self, input: &MetricInput<'_>) -> anyhow::Result<MetricOutput> {
        let codes = input.codes()?;
        let (n, f) = (codes.n_rows, codes.n_cols);
        let width = LEVELS + 1;
        // Two passes over fixed token chunks on all cores, merged exactly
        // (integer counts, maxima): firing counts and maxima, then level
        // histograms.
        let firing = |t: usize| {
            let idx = codes.row_indices(t);
            let vals = codes.row_values(t);
            idx.iter()
                .enumerate()
                .map(move |(k, &j)| (j as usize, vals.map_or(1.0, |v| v[k])))
                .filter(|&(_, a)| a > 0.0)
        };
        let pass1 = map_chunks(n, TOKEN_CHUNK, |tokens| {
            let mut fires = vec![0u32; f];
            let mut hi = vec![0.0f32; f];
            for t in tokens {
                for (j, a) in firing(t) {
                    fires[j] += 1;
                    hi[j] = hi[j].max(a);
                }
            }
            (fires, hi)
        });
        let mut fires = vec![0u64; f];
        let mut hi = vec![0.0f64; f];
        for (fc, hc) in &pass1 {
            fires.iter_mut().zip(fc).for_each(|(a, &b)| *a += b as u64);
            hi.iter_mut()
                .zip(hc)
                .for_each(|(a, &b)| *a = a.max(b as f64));
        }
        let pass2 = map_chunks(n, TOKEN_CHUNK, |tokens| {
            let mut hist = vec![0u32; f * width];
            for t in tokens {
                for (j, a) in firing(t) {
                    let level = round_half_away(a as f64 / hi[j] * LEVELS as f64);
                    hist[j * width + level.min(LEVELS)] += 1;
                }
            }
            hist
        });
        let mut hist = vec![0u64; f * width];
        for part in &pass2 {
            for (h, &c) in hist.iter_mut().zip(part) {
                *h += c as u64;
            }
        }
        let parts = [(0..f)
            .map(|j| {
                if fires[j] == 0 {
                    return None;
                }
                let fj = fires[j] as f64 / n as f64;
                let value_bits: f64 = hist[j * width..(j + 1) * width]
                    .iter()
                    .map(|&c| plogp(c as f64 / fires[j] as f64))
                    .sum();
                Some(plogp(fj) + plogp(1.0 - fj) + fj * value_bits)
            })
            .collect::<Vec<_>>()];
        let per_latent: Vec<Option<f64>> = parts.into_iter().flatten().collect();
        let mut total = 0.0f64;
        let mut live = 0usize;
        for bits in per_latent.iter().flatten() {
            total += bits;
            live += 1;
        }
        if live == 0 {
            return Ok(MetricOutput::undefined("no latent fires"));
        }
        Ok(MetricOutput::Value {
            value: total,
            per_latent: input.per_latent.then_some(per_latent),
        })
    }
}

rdpbench_sdk::export_plugin!(metrics: [DescriptionLength]);

#[cfg(test)]
mod tests {
    use super::*;
    use rdpbench_core::conditions::{CheckSettings, ConditionId};
    use rdpbench_sdk::testing::{ExampleData, check_examples};

    #[test]
    fn round_half_away_matches_f64_round() {
        let halfway_below = 0.5 - f64::EPSILON / 4.0;
        let mut xs = vec![
            0.0,
            halfway_below,
            0.5,
            1.5,
            2.5,
            15.5,
            16.0,
            1.0 + halfway_below,
        ];
        xs.extend((0..=16_000).map(|i| i as f64 * 0.001));
        for x in xs {
            assert_eq!(round_half_away(x), x.round() as usize, "x = {x:e}");
        }
    }

    fn run(codes: Vec<Vec<f32>>) -> MetricOutput {
        let ex = Example {
            codes: Some(codes),
            ..Example::default()
        };
        let data = ExampleData::from_example(&ex).unwrap();
        DescriptionLength
            .compute(&data.input(&[Input::Codes]))
            .unwrap()
    }

    #[test]
    fn declared_examples_hold() {
        assert_eq!(check_examples(&DescriptionLength).unwrap(), 3);
    }

    #[test]
    fn permutation_rescaling_and_dead_padding_do_not_matter() {
        let h = |a: usize, b: usize| (a * 7919 + b * 104729 + a * b * 31) % 101;
        let c: Vec<Vec<f32>> = (0..50)
            .map(|t| {
                (0..4)
                    .map(|j| {
                        if h(t, j) < 40 {
                            1.0 + (h(t + 9, j) % 3) as f32
                        } else {
                            0.0
                        }
                    })
                    .collect()
            })
            .collect();
        let a = run(c.clone()).as_value().unwrap();
        let s = [0.1f32, 10.0, 3.0, 0.25];
        let c2 = c
            .iter()
            .map(|r| {
                let mut v: Vec<f32> = (0..4).rev().map(|j| r[j] * s[j]).collect();
                v.push(0.0);
                v
            })
            .collect();
        let b = run(c2).as_value().unwrap();
        assert!((a - b).abs() <= 1e-12 * a, "{a} vs {b}");
    }

    #[test]
    fn latent_firing_everywhere_at_one_value_costs_nothing() {
        assert_eq!(run(vec![vec![1.0, 0.0]; 3]).as_value(), Some(0.0));
        assert_eq!(run(vec![]).as_value(), None);
    }

    #[test]
    fn passes_permutation_and_definedness_conditions() {
        let report = rdpbench_core::testing::check(
            DescriptionLength,
            &CheckSettings {
                conditions: vec!["C3".into(), "C10".into()],
                ..CheckSettings::quick()
            },
        );
        rdpbench_core::testing::assert_passes(&report, &[ConditionId::C3, ConditionId::C10]);
    }
}

//! # monosemanticity-score: activation-weighted similarity of what a latent fires on
//!
//! The MonoSemanticity score MS of Pach et al. 2025 ("Sparse Autoencoders
//! Learn Monosemantic Features in Vision-Language Models", arXiv 2504.02821),
//! with the SAE input `x` as the embedding of each sample (rdpbench has no
//! separate image encoder; on toy data `x` is the concept mixture itself).
//!
//! For latent `j` with codes `a_tj` over all `N` samples (a code not stored
//! in the CSR is 0), min-max normalized over the whole evaluation set,
//!
//! `ã_t = (a_tj − min_t a_tj) / (max_t a_tj − min_t a_tj)`,
//!
//! and unit embeddings `ê_t = x_t / ‖x_t‖` (`ê_t = 0` for `x_t = 0`, so a
//! zero embedding has cosine 0 with everything):
//!
//! `MS_j = Σ_{t≠u} ã_t ã_u ⟨ê_t, ê_u⟩ / Σ_{t≠u} ã_t ã_u`.
//!
//! The sum over ordered pairs equals the paper's sum over `t < u` (both
//! numerator and denominator double). It is computed in `O(N · d_in)` by the
//! closed form (as in MonoLoss, arXiv 2602.12403):
//!
//! `Σ_{t≠u} ã_t ã_u ⟨ê_t, ê_u⟩ = ‖Σ_t ã_t ê_t‖² − Σ_t ã_t² ‖ê_t‖²`,
//! `Σ_{t≠u} ã_t ã_u = (Σ_t ã_t)² − Σ_t ã_t²`.
//!
//! Only samples where the latent's code is stored contribute `ã_t ≠ ã_0`
//! (`ã_0` = the normalized value of a zero code, 0 whenever the latent is
//! silent somewhere and never negative); the unstored samples enter through
//! one precomputed sum `Σ_t ê_t`, so the cost is `O(nnz(codes) · d_in +
//! N · d_in)` time and `O(d_sae · d_in)` memory, never `O(N²)`. The
//! `nnz · d_in` part runs latent-major over token blocks (activations read
//! from cache), SIMD-vectorized, on all cores.
//!
//! Normalization: per latent, min-max over all `N` evaluation samples (the
//! paper's choice), which makes `MS_j` exactly invariant to positive
//! per-latent rescaling. `MS_j ∈ [−1, 1]`; 1 when everything the latent fires
//! on points the same way. SAE score: the unweighted mean of `MS_j` over the
//! latents where it is defined (the paper reports per-neuron scores and their
//! mean). Orientation: higher = *less* polysemantic.
//!
//! Where it departs from the source: the source's code scores an undefined
//! latent (dead or constant: its normalisation divides by zero) as 0 and
//! averages over *all* latents, so dead latents pull its SAE score towards 0;
//! rdpbench's default leaves them out, so dead padding changes nothing
//! (condition C10). The source's own average is config
//! `{"undefined_as_zero": true}`: `Σ_{j defined} MS_j / d_sae` (defined
//! whenever `d_sae > 0`).
//!
//! Undefined per latent: dead (never non-zero), constant (max = min, e.g. a
//! latent equal to 1.0 on every sample), or fewer than two samples with
//! positive weight (no pair to compare). The SAE score is undefined when no
//! latent is defined. Reads codes and activations. Per-latent sums run in
//! token order in `f64` and `Σ_t ê_t` over fixed token chunks merged in
//! order, so each latent's value does not depend on its index or on the
//! thread count, and identical input gives bit-identical output.
#![deny(unsafe_code)]

use rdpbench_kernels::simd::accumulate_rows;
use rdpbench_kernels::{Firing, LatentMajor, map_chunks};
use rdpbench_sdk::prelude::*;

/// MonoSemanticity score (see the crate docs).
#[derive(Debug, Default, Clone, Copy)]
pub struct MonosemanticityScore;

const ID: &str = "monosemanticity-score";
const DESCRIPTION: &str = "Mean over latents of the activation-weighted mean cosine similarity \
    between the SAE inputs of every pair of samples (MS, min-max normalized activations).";

/// Tokens per chunk of the parallel per-token passes and per block of the
/// `Σ_t ã_t ê_t` accumulation (8 MiB of `f32` activations at d_in = 512:
/// stays in L3 while every latent's accumulator streams past it once).
const TOKEN_BLOCK: usize = 4096;

/// Per-latent MS values (`None` where undefined), by the closed form.
///
/// Layout of the work: per-token statistics on fixed token chunks; the
/// per-latent sums latent-major (each latent's entries in token order, so
/// thread count and latent ranges cannot change a bit); the `d_in`-wide
/// accumulation `u_j = Σ_t (ã_t − ã_0) ê_t` in token blocks so the
/// activations are read from cache, with SIMD `f64` accumulation.
pub fn per_latent_ms(codes: &CsrView<'_>, x: &MatrixView<'_>) -> anyhow::Result<Vec<Option<f64>>> {
    ensure!(
        codes.n_rows == x.rows,
        "codes have {} rows but activations have {}",
        codes.n_rows,
        x.rows
    );
    let (n, f, d) = (codes.n_rows, codes.n_cols, x.cols);
    let by_latent = LatentMajor::build(codes, Firing::Stored);
    // Per token: 1/‖x_t‖ (0 for a zero or non-finite norm), and the partial
    // sums of ê_t per fixed chunk, merged in chunk order.
    let per_chunk = map_chunks(n, TOKEN_BLOCK, |tokens| {
        let mut inv = Vec::with_capacity(tokens.len());
        let mut e_sum = vec![0.0f64; d];
        let mut nonzero = 0u64;
        for t in tokens {
            let row = x.row(t);
            let norm = row.iter().map(|&v| v as f64 * v as f64).sum::<f64>().sqrt();
            if norm > 0.0 && norm.is_finite() {
                let r = 1.0 / norm;
                for (s, &v) in e_sum.iter_mut().zip(row) {
                    *s += v as f64 * r;
                }
                nonzero += 1;
                inv.push(r);
            } else {
                inv.push(0.0);
            }
        }
        (inv, e_sum, nonzero)
    });
    let mut inv_norm = Vec::with_capacity(n);
    let mut e_all = vec![0.0f64; d];
    let mut nz_all = 0u64;
    for (inv, e_sum, nonzero) in per_chunk {
        inv_norm.extend_from_slice(&inv);
        for (a, b) in e_all.iter_mut().zip(&e_sum) {
            *a += b;
        }
        nz_all += nonzero;
    }
    let latent_len = rdpbench_kernels::parallel::balanced_chunk_len(f, 1, 256);
    let parts = map_chunks(f, latent_len, |latents| {
        let len = latents.len();
        let mut w0 = vec![0.0f64; len];
        let mut range = vec![0.0f64; len];
        let mut out: Vec<Option<f64>> = vec![None; len];
        let mut u = vec![0.0f64; len * d];
        let mut cursor = vec![0usize; len];
        let mut stats = vec![(0.0f64, 0.0f64, 0.0f64, 0u64); len];
        for (i, j) in latents.clone().enumerate() {
            let vals = by_latent.values(j);
            let count = vals.len();
            let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
            for &a in vals {
                lo = lo.min(a as f64);
                hi = hi.max(a as f64);
            }
            if count > 0 && count < n {
                lo = lo.min(0.0);
                hi = hi.max(0.0);
            }
            range[i] = hi - lo;
            w0[i] = -lo / range[i];
            if count == 0 || range[i] <= 0.0 || !range[i].is_finite() {
                continue;
            }
            let (mut s1, mut s2, mut diag, mut nz) = (0.0f64, 0.0f64, 0.0f64, 0u64);
            for (&t, &a) in by_latent.tokens(j).iter().zip(vals) {
                let w = (a as f64 - lo) / range[i];
                s1 += w;
                s2 += w * w;
                if inv_norm[t as usize] > 0.0 {
                    diag += w * w;
                    nz += 1;
                }
            }
            stats[i] = (s1, s2, diag, nz);
        }
        // u_j = Σ_t (w_tj − w0_j) ê_t over token blocks; w − w0 = a / range.
        let mut terms: Vec<(u32, f64)> = Vec::new();
        for block_end in (TOKEN_BLOCK..n + TOKEN_BLOCK).step_by(TOKEN_BLOCK) {
            for (i, j) in latents.clone().enumerate() {
                if range[i] <= 0.0 || !range[i].is_finite() {
                    continue;
                }
                let toks = by_latent.tokens(j);
                let vals = by_latent.values(j);
                terms.clear();
                while cursor[i] < toks.len() && (toks[cursor[i]] as usize) < block_end {
                    let (t, a) = (toks[cursor[i]], vals[cursor[i]]);
                    let r = inv_norm[t as usize];
                    if r > 0.0 {
                        terms.push((t, (a as f64 / range[i]) * r));
                    }
                    cursor[i] += 1;
                }
                if !terms.is_empty() {
                    accumulate_rows(&mut u[i * d..(i + 1) * d], x.data, &terms);
                }
            }
        }
        for (i, j) in latents.enumerate() {
            let count = by_latent.count(j);
            if count == 0 || range[i] <= 0.0 || !range[i].is_finite() {
                continue;
            }
            let (s1, s2, diag, nz_stored) = stats[i];
            let w0 = w0[i];
            let missing = (n - count) as f64;
            let v2: f64 = u[i * d..(i + 1) * d]
                .iter()
                .zip(&e_all)
                .map(|(&uk, &ek)| {
                    let v = uk + w0 * ek;
                    v * v
                })
                .sum();
            let dg = diag + w0 * w0 * (nz_all - nz_stored) as f64;
            let sum1 = s1 + w0 * missing;
            let sum2 = s2 + w0 * w0 * missing;
            let den = sum1 * sum1 - sum2;
            if den > 1e-12 * sum1 * sum1 && den > 0.0 {
                out[i] = Some((v2 - dg) / den);
            }
        }
        out
    });
    Ok(parts.into_iter().flatten().collect())
}

/// Config `{"undefined_as_zero": bool}` (default `false`; see the crate docs).
fn undefined_as_zero(config: &str) -> anyhow::Result<bool> {
    let v: serde_json::Value = if config.trim().is_empty() {
        serde_json::Value::Null
    } else {
        serde_json::from_str(config)
            .map_err(|e| anyhow::anyhow!("monosemanticity-score config: {e}"))?
    };
    match v.get("undefined_as_zero") {
        None => Ok(false),
        Some(b) => b.as_bool().ok_or_else(|| {
            anyhow::anyhow!(
                "monosemanticity-score config: `undefined_as_zero` = {b} is not a boolean"
            )
        }),
    }
}

impl Metric for MonosemanticityScore {
    fn spec(&self) -> MetricSpec {
        MetricSpec {
            id: ID.into(),
            version: "1".into(),
            description: DESCRIPTION.into(),
            citation: "Pach et al. 2025, arXiv 2504.02821 (MS); linear-time form as in \
                       MonoLoss, arXiv 2602.12403; embeddings = SAE inputs"
                .into(),
            orientation: Orientation::HigherIsLessPolysemantic,
            inputs: vec![Input::Activations, Input::Codes],
            examples: vec![
                Example {
                    description: "latent 0: ã = (1/2, 1, 0, 0), one pair at cos 1 → 1; \
                                  latent 1: ã = (0, 0, 1, 1/2), one pair at cos 1/√2 → 1/√2; \
                                  mean (1 + 1/√2)/2"
                        .into(),
                    activations: Some(vec![
                        vec![1.0, 0.0],
                        vec![2.0, 0.0],
                        vec![0.0, 3.0],
                        vec![1.0, 1.0],
                    ]),
                    codes: Some(vec![
                        vec![1.0, 0.0],
                        vec![2.0, 0.0],
                        vec![0.0, 4.0],
                        vec![0.0, 2.0],
                    ]),
                    expected: Some((1.0 + std::f64::consts::FRAC_1_SQRT_2) / 2.0),
                    ..Example::default()
                },
                Example {
                    description: "ã = (1, 1, 1/2, 0) on ê = e1, e2, e1, 0: pairs (0,1) w 1 cos 0, \
                                  (0,2) w 1/2 cos 1, (1,2) w 1/2 cos 0 → 0.5/2 = 0.25"
                        .into(),
                    activations: Some(vec![
                        vec![1.0, 0.0],
                        vec![0.0, 1.0],
                        vec![1.0, 0.0],
                        vec![0.0, 0.0],
                    ]),
                    codes: Some(vec![vec![2.0], vec![2.0], vec![1.0], vec![0.0]]),
                    expected: Some(0.25),
                    ..Example::default()
                },
                Example {
                    description: "latent 0 constant (max = min), latent 1 fires once, latent 2 \
                                  dead: no latent defined → undefined"
                        .into(),
                    activations: Some(vec![vec![1.0, 0.0], vec![0.0, 1.0]]),
                    codes: Some(vec![vec![3.0, 0.0, 0.0], vec![3.0, 5.0, 0.0]]),
                    expected: None,
                    ..Example::default()
                },
            ],
        }
    }

    fn compute(&self, input: &MetricInput<'_>) -> anyhow::Result<MetricOutput> {
        let undefined_as_zero = undefined_as_zero(input.config)?;
        let per = per_latent_ms(&input.codes()?, &input.activations()?)?;
        let (mut sum, mut k) = (0.0f64, 0usize);
        for v in per.iter().flatten() {
            sum += v;
            k += 1;
        }
        if undefined_as_zero && !per.is_empty() {
            return Ok(MetricOutput::Value {
                value: sum / per.len() as f64,
                per_latent: input.per_latent.then_some(per),
            });
        }
        if k == 0 {
            return Ok(MetricOutput::undefined(
                "no latent has two samples with distinct, positive weight (all dead or constant)",
            ));
        }
        Ok(MetricOutput::Value {
            value: sum / k as f64,
            per_latent: input.per_latent.then_some(per),
        })
    }
}

rdpbench_sdk::export_plugin!(metrics: [MonosemanticityScore]);

#[cfg(test)]
mod tests {
    use super::*;
    use rdpbench_core::conditions::{CheckSettings, ConditionId};
    use rdpbench_sdk::testing::{ExampleData, check_examples};

    /// The source's average on the first example plus a dead latent:
    /// latents 0 and 1 are defined (1 and 1/√2), latent 2 is dead and
    /// scores 0: (1 + 1/√2 + 0) / 3; the default leaves it out.
    #[test]
    fn undefined_as_zero_averages_over_every_latent() {
        let ex = Example {
            activations: Some(vec![
                vec![1.0, 0.0],
                vec![2.0, 0.0],
                vec![0.0, 3.0],
                vec![1.0, 1.0],
            ]),
            codes: Some(vec![
                vec![1.0, 0.0, 0.0],
                vec![2.0, 0.0, 0.0],
                vec![0.0, 4.0, 0.0],
                vec![0.0, 2.0, 0.0],
            ]),
            ..Example::default()
        };
        let data = ExampleData::from_example(&ex).unwrap();
        let mut input = data.input(&[Input::Activations, Input::Codes]);
        let s = std::f64::consts::FRAC_1_SQRT_2;
        let default = MonosemanticityScore
            .compute(&input)
            .unwrap()
            .as_value()
            .unwrap();
        assert!((default - (1.0 + s) / 2.0).abs() < 1e-12, "{default}");
        input.config = r#"{"undefined_as_zero": true}"#;
        let source = MonosemanticityScore
            .compute(&input)
            .unwrap()
            .as_value()
            .unwrap();
        assert!((source - (1.0 + s) / 3.0).abs() < 1e-12, "{source}");
        input.config = r#"{"undefined_as_zero": 1}"#;
        assert!(MonosemanticityScore.compute(&input).is_err());
    }

    fn run(x: Vec<Vec<f32>>, codes: Vec<Vec<f32>>) -> MetricOutput {
        let ex = Example {
            activations: Some(x),
            codes: Some(codes),
            ..Example::default()
        };
        let data = ExampleData::from_example(&ex).unwrap();
        MonosemanticityScore
            .compute(&data.input(&[Input::Activations, Input::Codes]))
            .unwrap()
    }

    /// Deterministic pseudo-random data: 40 samples, d = 3, 5 latents
    /// (latent 4 is dense with a negative minimum).
    fn data() -> (Vec<Vec<f32>>, Vec<Vec<f32>>) {
        let h = |a: u32, b: u32| ((a.wrapping_mul(2654435761) ^ b.wrapping_mul(40503)) % 97) as f32;
        let x = (0..40)
            .map(|t| (0..3).map(|k| h(t, k) / 10.0 - 4.0).collect())
            .collect();
        let c = (0..40)
            .map(|t| {
                (0..5)
                    .map(|j| {
                        let v = h(t + 100, j);
                        if j == 4 {
                            v / 20.0 - 1.0
                        } else if v > 60.0 {
                            v / 30.0
                        } else {
                            0.0
                        }
                    })
                    .collect()
            })
            .collect();
        (x, c)
    }

    #[test]
    fn declared_examples_hold() {
        assert_eq!(check_examples(&MonosemanticityScore).unwrap(), 3);
    }

    #[test]
    fn closed_form_matches_the_pairwise_definition() {
        let (x, c) = data();
        let MetricOutput::Value { per_latent, .. } = run(x.clone(), c.clone()) else {
            panic!("undefined")
        };
        let per_latent = per_latent.unwrap();
        for (j, got) in per_latent.iter().enumerate() {
            let col: Vec<f64> = c.iter().map(|r| r[j] as f64).collect();
            let (lo, hi) = col
                .iter()
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), &v| {
                    (l.min(v), h.max(v))
                });
            let w: Vec<f64> = col.iter().map(|v| (v - lo) / (hi - lo)).collect();
            let unit = |r: &Vec<f32>| {
                let n = r.iter().map(|&v| (v as f64).powi(2)).sum::<f64>().sqrt();
                r.iter().map(|&v| v as f64 / n).collect::<Vec<f64>>()
            };
            let (mut num, mut den) = (0.0, 0.0);
            for t in 0..x.len() {
                for s in 0..x.len() {
                    if s != t {
                        let cos: f64 = unit(&x[t])
                            .iter()
                            .zip(unit(&x[s]))
                            .map(|(a, b)| a * b)
                            .sum();
                        num += w[t] * w[s] * cos;
                        den += w[t] * w[s];
                    }
                }
            }
            let got = got.unwrap();
            assert!(
                (got - num / den).abs() < 1e-10,
                "latent {j}: {got} vs {}",
                num / den
            );
        }
    }

    #[test]
    fn permutation_and_rescaling_do_not_matter() {
        let (x, c) = data();
        let a = run(x.clone(), c.clone()).as_value().unwrap();
        let scales = [0.1f32, 3.0, 7.5, 0.25, 10.0];
        let b: Vec<Vec<f32>> = c
            .iter()
            .map(|r| (0..5).rev().map(|j| r[j] * scales[j]).collect())
            .collect();
        let b = run(x.clone(), b).as_value().unwrap();
        assert!((a - b).abs() <= 1e-6 * a.abs(), "{a} vs {b}");
        assert_eq!(run(x, c).as_value().unwrap().to_bits(), a.to_bits());
    }

    #[test]
    fn edge_cases_are_undefined_not_nan() {
        // N = 1: every live latent is constant.
        assert_eq!(
            run(vec![vec![1.0, 2.0]], vec![vec![1.0, 0.0]]).as_value(),
            None
        );
        // No samples.
        assert_eq!(run(vec![], vec![]).as_value(), None);
        // A latent firing on zero embeddings only: defined, MS = 0.
        assert_eq!(
            run(
                vec![vec![0.0, 0.0]; 3],
                vec![vec![1.0], vec![2.0], vec![0.0]]
            )
            .as_value(),
            Some(0.0)
        );
    }

    #[test]
    fn passes_permutation_and_definedness_conditions() {
        let report = rdpbench_core::testing::check(
            MonosemanticityScore,
            &CheckSettings {
                conditions: vec!["C3".into(), "C10".into()],
                ..CheckSettings::quick()
            },
        );
        rdpbench_core::testing::assert_passes(&report, &[ConditionId::C3, ConditionId::C10]);
    }
}

//! # mean-max-decoder-cosine: how close each decoder row is to its nearest neighbour
//!
//! After SAEBench core's `average_max_decoder_cosine_sim` (Karvonen et al.
//! 2025, SAEBench, core eval). With `u_j = w_j / ‖w_j‖` the unit decoder
//! rows of the *live* rows `L = {j : 0 < ‖w_j‖ < ∞}`:
//!
//! `s_j = max_{k ∈ L, k ≠ j} |⟨u_j, u_k⟩|`,   `score = (1/|L|) Σ_{j ∈ L} s_j`.
//!
//! Where it departs from the source: SAEBench (`calculate_max_cosine_sim`:
//! diagonal set to −∞, then `max`) takes the *signed* maximum
//! `max_{k ≠ j} ⟨u_j, u_k⟩`, so an anti-parallel pair does not count as
//! similar; rdpbench takes the largest `|cos|`, since `w` and `−w` span the
//! same direction (a latent and its negation read the same feature axis).
//! The two differ whenever a row's nearest neighbour is anti-parallel-ish.
//! SAEBench also averages over every latent, a zero row (normalised to 0)
//! scoring its largest cosine, 0 or more; rdpbench leaves zero rows out.
//! SAEBench's signed maximum (over the live rows) is config
//! `{"signed": true}`: an exact `f64` pairwise scan, `O(d_sae² · d_in)` on
//! all cores, without the blocked GEMM below (slower at large `d_sae`).
//!
//! The hypothesis it encodes: a latent whose direction nearly repeats another
//! one's mixes or duplicates features, so higher = more polysemantic. Reads
//! the decoder only (no data, so it cannot see co-occurrence or density).
//!
//! Rows with zero (or non-finite) norm are "dead" here: excluded from `L` and
//! given no per-latent score; a zero row has no direction. Undefined with
//! fewer than two live rows (no neighbour to compare with). Per-latent score:
//! `s_j`. Cost `O(d_sae² · d_in)` time: an `f32` blocked GEMM over the
//! upper triangle of the Gram matrix (multi-threaded), with the row maxima
//! fused into the block scans and refined to exact `f64` (see [`gram_max`]);
//! `O(d_sae · d_in + 1024 · d_sae)` memory, never the `d_sae²` matrix. The
//! result equals a brute-force `f64` computation, bit-identical run to run
//! and across thread counts.
#![deny(unsafe_code)]

pub mod gram_max;

use rdpbench_sdk::prelude::*;

/// Mean max |cos| between decoder rows (see the crate docs).
#[derive(Debug, Default, Clone, Copy)]
pub struct MeanMaxDecoderCosine;

const ID: &str = "mean-max-decoder-cosine";
const DESCRIPTION: &str = "Mean over live decoder rows of the largest |cosine| with any other \
    live decoder row.";

/// Config `{"signed": bool}` (default `false`; see the crate docs).
fn signed(config: &str) -> anyhow::Result<bool> {
    let v: serde_json::Value = if config.trim().is_empty() {
        serde_json::Value::Null
    } else {
        serde_json::from_str(config)
            .map_err(|e| anyhow::anyhow!("mean-max-decoder-cosine config: {e}"))?
    };
    match v.get("signed") {
        None => Ok(false),
        Some(b) => b.as_bool().ok_or_else(|| {
            anyhow::anyhow!("mean-max-decoder-cosine config: `signed` = {b} is not a boolean")
        }),
    }
}

/// SAEBench's per-row signed maximum `max_{k ≠ j} ⟨u_j, u_k⟩` of the unit
/// rows `u` `[n, d]` (`n ≥ 2`), exact in `f64`, rows in parallel.
fn max_signed_cosine(u: &[f64], n: usize, d: usize) -> Vec<f64> {
    rdpbench_kernels::map_chunks(n, 64, |rows| {
        rows.map(|j| {
            let uj = &u[j * d..(j + 1) * d];
            (0..n)
                .filter(|&k| k != j)
                .map(|k| {
                    let c: f64 = uj
                        .iter()
                        .zip(&u[k * d..(k + 1) * d])
                        .map(|(a, b)| a * b)
                        .sum();
                    c.clamp(-1.0, 1.0)
                })
                .fold(f64::NEG_INFINITY, f64::max)
        })
        .collect::<Vec<f64>>()
    })
    .into_iter()
    .flatten()
    .collect()
}

impl Metric for MeanMaxDecoderCosine {
    fn spec(&self) -> MetricSpec {
        MetricSpec {
            id: ID.into(),
            version: "1".into(),
            description: DESCRIPTION.into(),
            citation: "SAEBench core eval (Karvonen et al. 2025): mean max decoder cosine \
                       similarity"
                .into(),
            orientation: Orientation::HigherIsMorePolysemantic,
            inputs: vec![Input::Decoder],
            examples: vec![
                Example {
                    description: "orthogonal rows: 0".into(),
                    decoder: Some(vec![vec![1.0, 0.0], vec![0.0, 3.0]]),
                    expected: Some(0.0),
                    ..Example::default()
                },
                Example {
                    description: "u = (1,0), (0.6,0.8), (0,-1) and a zero row: max |cos| = \
                                  0.6, 0.8, 0.8 → 2.2/3"
                        .into(),
                    decoder: Some(vec![
                        vec![1.0, 0.0],
                        vec![3.0, 4.0],
                        vec![0.0, 0.0],
                        vec![0.0, -2.0],
                    ]),
                    expected: Some(2.2 / 3.0),
                    ..Example::default()
                },
                Example {
                    description: "one non-zero row: undefined".into(),
                    decoder: Some(vec![vec![1.0, 2.0], vec![0.0, 0.0]]),
                    expected: None,
                    ..Example::default()
                },
            ],
        }
    }

    fn compute(&self, input: &MetricInput<'_>) -> anyhow::Result<MetricOutput> {
        let dec = input.decoder()?;
        let d = dec.cols;
        // Normalize the live rows once, in f64.
        let mut live = Vec::new();
        let mut u = Vec::new();
        for j in 0..dec.rows {
            let row = dec.row(j);
            let norm = row.iter().map(|&x| x as f64 * x as f64).sum::<f64>().sqrt();
            if norm > 0.0 && norm.is_finite() {
                live.push(j);
                u.extend(row.iter().map(|&x| x as f64 / norm));
            }
        }
        let n = live.len();
        if n < 2 {
            return Ok(MetricOutput::undefined(format!(
                "{n} non-zero decoder row(s): need at least 2 to compare"
            )));
        }
        let best = if signed(input.config)? {
            max_signed_cosine(&u, n, d)
        } else {
            gram_max::max_abs_cosine(&u, n, d)
                .with_context(|| format!("mean-max-decoder-cosine on a [{n}, {d}] decoder"))?
        };
        let mut per_latent = vec![None; dec.rows];
        for (&j, &b) in live.iter().zip(&best) {
            per_latent[j] = Some(b);
        }
        Ok(MetricOutput::Value {
            value: best.iter().sum::<f64>() / n as f64,
            per_latent: Some(per_latent),
        })
    }
}

rdpbench_sdk::export_plugin!(metrics: [MeanMaxDecoderCosine]);

#[cfg(test)]
mod tests {
    use super::*;
    use rdpbench_sdk::testing::{ExampleData, check_examples};

    fn run(decoder: Vec<Vec<f32>>) -> MetricOutput {
        let ex = Example {
            decoder: Some(decoder),
            ..Example::default()
        };
        let data = ExampleData::from_example(&ex).unwrap();
        MeanMaxDecoderCosine
            .compute(&data.input(&[Input::Decoder]))
            .unwrap()
    }

    /// 70 pseudo-random rows in d = 5: more than two blocks.
    fn rows() -> Vec<Vec<f32>> {
        (0..70u32)
            .map(|j| {
                (0..5u32)
                    .map(|k| ((j * 7 + k * 13) % 11) as f32 - 5.0)
                    .collect()
            })
            .collect()
    }

    #[test]
    fn declared_examples_hold() {
        assert_eq!(check_examples(&MeanMaxDecoderCosine).unwrap(), 3);
    }

    #[test]
    fn permutation_and_rescaling_do_not_matter() {
        let a = run(rows()).as_value().unwrap();
        let mut b = rows();
        b.reverse();
        for (j, r) in b.iter_mut().enumerate() {
            let s = if j % 2 == 0 { 0.37 } else { -4.0 };
            r.iter_mut().for_each(|x| *x *= s);
        }
        let b = run(b).as_value().unwrap();
        assert!((a - b).abs() <= 1e-12, "{a} vs {b}");
        // Identical input: bit-identical output.
        assert_eq!(run(rows()).as_value().unwrap().to_bits(), a.to_bits());
    }

    #[test]
    fn blocked_gram_matches_brute_force() {
        let r = rows();
        let cos = |a: &[f32], b: &[f32]| {
            let d = |x: &[f32], y: &[f32]| -> f64 {
                x.iter().zip(y).map(|(p, q)| *p as f64 * *q as f64).sum()
            };
            d(a, b) / (d(a, a) * d(b, b)).sqrt()
        };
        let want: Vec<f64> = (0..r.len())
            .map(|j| {
                (0..r.len())
                    .filter(|&k| k != j && r[k].iter().any(|&x| x != 0.0))
                    .map(|k| cos(&r[j], &r[k]).abs())
                    .fold(0.0, f64::max)
            })
            .collect();
        let MetricOutput::Value { per_latent, .. } = run(r) else {
            panic!("undefined")
        };
        for (w, got) in want.iter().zip(per_latent.unwrap()) {
            assert!((w - got.unwrap()).abs() < 1e-12);
        }
    }

    /// SAEBench's signed maximum by hand: u = (1, 0), (0.6, 0.8), (−1, 0).
    /// Row 0: cos 0.6 and −1 → signed max 0.6 (|cos| max 1); row 1: 0.6 and
    /// −0.6 → 0.6 (0.6); row 2: −1 and −0.6 → −0.6 (1). Signed mean
    /// (0.6 + 0.6 − 0.6)/3 = 0.2; rdpbench's |cos| mean (1 + 0.6 + 1)/3.
    #[test]
    fn saebench_signed_maximum_hand_computed() {
        let ex = Example {
            decoder: Some(vec![vec![1.0, 0.0], vec![3.0, 4.0], vec![-2.0, 0.0]]),
            ..Example::default()
        };
        let data = ExampleData::from_example(&ex).unwrap();
        let mut input = data.input(&[Input::Decoder]);
        let abs = MeanMaxDecoderCosine
            .compute(&input)
            .unwrap()
            .as_value()
            .unwrap();
        assert!((abs - 2.6 / 3.0).abs() < 1e-12, "{abs}");
        input.config = r#"{"signed": true}"#;
        let signed = MeanMaxDecoderCosine
            .compute(&input)
            .unwrap()
            .as_value()
            .unwrap();
        assert!((signed - 0.2).abs() < 1e-12, "{signed}");
        input.config = r#"{"signed": "yes"}"#;
        assert!(MeanMaxDecoderCosine.compute(&input).is_err());
    }

    #[test]
    fn antiparallel_pair_scores_one_and_zero_rows_are_dead() {
        let out = run(vec![vec![0.0, 0.0], vec![2.0, -1.0], vec![-4.0, 2.0]]);
        let MetricOutput::Value { value, per_latent } = out else {
            panic!("undefined")
        };
        assert!((value - 1.0).abs() < 1e-15, "{value}");
        let per_latent = per_latent.unwrap();
        assert_eq!(per_latent[0], None);
        assert!(
            per_latent[1..]
                .iter()
                .all(|s| (s.unwrap() - 1.0).abs() < 1e-15)
        );
        assert_eq!(run(vec![]).as_value(), None);
        assert_eq!(run(vec![vec![0.0; 3]; 4]).as_value(), None);
    }
}

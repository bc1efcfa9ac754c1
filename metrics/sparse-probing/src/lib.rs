//! # sparse-probing: can k latents classify each concept?
//!
//! SAEBench's sparse probing (Karvonen et al. 2025; after Gurnee et al.
//! 2023): per concept, pick the `k` latents whose mean activation differs
//! most between samples with and without the concept, fit a small probe on
//! them, and report test accuracy. rdpbench's deterministic version:
//!
//! 1. Split rows: even rows train, odd rows test (fixed, no RNG).
//! 2. On the train rows, for every latent `j` with non-zero variance `σ_j²`
//!    (over all train rows, unstored codes are 0) and every concept `c`, the
//!    standardized mean difference
//!    `s_jc = (mean(a_j | y_c = 1) − mean(a_j | y_c = 0)) / σ_j`.
//!    Where this departs from the source: SAEBench ranks latents by the
//!    *absolute value* of the *raw* mean difference,
//!    `|mean(a_j | y_c = 1) − mean(a_j | y_c = 0)|`; rdpbench ranks by the
//!    *signed*, *standardised* one. Dividing by `σ_j` makes the selection
//!    invariant to per-latent rescaling (condition C4), which a raw
//!    difference is not; the sign keeps latents that fire *with* the
//!    concept. SAEBench's ranking is config `{"rank": "abs_mean_difference"}`
//!    (the probe below is the same either way).
//! 3. Select the `k` latents with the largest ranking key (ties: lower latent
//!    index; exact ties between different latents are measure-zero on real
//!    data, but they are the one way latent order can matter).
//! 4. Probe: nearest class mean on the standardized selected codes
//!    `z = a_j / σ_j` (train class means `m⁺, m⁻`): predict "present" iff
//!    `‖z − m⁺‖² < ‖z − m⁻‖²`, i.e. `⟨z, m⁺ − m⁻⟩ > (‖m⁺‖² − ‖m⁻‖²)/2`. No
//!    iterations, no learning rate, no randomness: a closed-form linear
//!    probe. (SAEBench fits logistic regression; with `k = 1` both are a
//!    threshold on one latent.)
//! 5. Balanced accuracy on the test rows, `(TPR + TNR)/2` (the toy concepts
//!    are rare, `p ≈ 0.1`, so plain accuracy would reward "never present";
//!    SAEBench balances its datasets instead).
//!
//! `score` = mean balanced accuracy over the concepts that have positive and
//! negative samples in both halves. Orientation: higher = *less*
//! polysemantic (a concept recoverable from few latents is represented
//! monosemantically). Config (JSON): `{"k": 1}` (default 1, SAEBench's
//! headline top-1). A concept-level score: no per-latent scores.
//!
//! Undefined when no concept is evaluable (e.g. `N < 4`, or no latent has
//! variance). Dead latents have zero variance and are never selected, so
//! padding with dead latents changes nothing. Cost `O(nnz(codes) · (labels
//! per sample + k · fan-out) + N · n_concepts + d_sae · n_concepts · k)` time,
//! `O(d_sae · n_concepts)` memory; fixed-order `f64` sums (each latent's
//! train sums in token order, each thread owning a latent range; concepts
//! selected in parallel,
//! recorded in concept order), so the thread count changes no bit.
#![deny(unsafe_code)]

use rdpbench_kernels::map_chunks;
use rdpbench_kernels::parallel::balanced_chunk_len;
use rdpbench_sdk::prelude::*;
use serde::Deserialize;

/// Top-k sparse probing (see the crate docs).
#[derive(Debug, Default, Clone, Copy)]
pub struct SparseProbing;

const ID: &str = "sparse-probing";
const DESCRIPTION: &str = "Mean over concepts of the held-out balanced accuracy of a nearest-class-mean \
    probe on the k latents with the largest standardized mean difference for that concept.";

/// Fewest latents per thread for the train statistics.
const MIN_LATENTS: usize = 2048;
/// Concepts per parallel chunk of the latent selection.
const CONCEPT_CHUNK: usize = 16;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct Config {
    k: usize,
    rank: Rank,
}

/// How latents are ranked for a concept (see the crate docs, step 2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Rank {
    /// rdpbench's: the signed standardised mean difference.
    #[default]
    Standardized,
    /// SAEBench's: the absolute raw mean difference.
    AbsMeanDifference,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            k: 1,
            rank: Rank::Standardized,
        }
    }
}

impl Metric for SparseProbing {
    fn spec(&self) -> MetricSpec {
        MetricSpec {
            id: ID.into(),
            version: "1".into(),
            description: DESCRIPTION.into(),
            citation: "SAEBench sparse probing (Karvonen et al. 2025); Gurnee et al. 2023".into(),
            orientation: Orientation::HigherIsLessPolysemantic,
            inputs: vec![Input::Codes, Input::Labels],
            examples: vec![
                Example {
                    description: "latent 0 fires exactly on c0, latent 1 exactly on c1: \
                                  both probes are perfect → 1"
                        .into(),
                    codes: Some(vec![
                        vec![1.0, 0.0],
                        vec![1.0, 0.0],
                        vec![0.0, 2.0],
                        vec![0.0, 2.0],
                        vec![0.0, 0.0],
                        vec![0.0, 0.0],
                    ]),
                    labels: Some(vec![
                        vec![1.0, 0.0],
                        vec![1.0, 0.0],
                        vec![0.0, 1.0],
                        vec![0.0, 1.0],
                        vec![0.0, 0.0],
                        vec![0.0, 0.0],
                    ]),
                    expected: Some(1.0),
                    ..Example::default()
                },
                Example {
                    description: "one OR-merged latent fires on c0 or c1; train rows 0,2,4,6 \
                                  (c0, c1, –, –), test rows 1,3,5,7 (c0, c1, –, –): each \
                                  concept's probe says 'present' on both firing rows → TPR 1, \
                                  TNR 2/3, balanced 5/6"
                        .into(),
                    codes: Some(vec![
                        vec![1.0],
                        vec![1.0],
                        vec![1.0],
                        vec![1.0],
                        vec![0.0],
                        vec![0.0],
                        vec![0.0],
                        vec![0.0],
                    ]),
                    labels: Some(vec![
                        vec![1.0, 0.0],
                        vec![1.0, 0.0],
                        vec![0.0, 1.0],
                        vec![0.0, 1.0],
                        vec![0.0, 0.0],
                        vec![0.0, 0.0],
                        vec![0.0, 0.0],
                        vec![0.0, 0.0],
                    ]),
                    expected: Some(5.0 / 6.0),
                    ..Example::default()
                },
                Example {
                    description: "three samples: the test half (row 1) cannot hold both classes \
                                  → undefined"
                        .into(),
                    codes: Some(vec![vec![1.0], vec![0.0], vec![1.0]]),
                    labels: Some(vec![vec![1.0], vec![0.0], vec![1.0]]),
                    expected: None,
                    ..Example::default()
                },
            ],
        }
    }

    fn compute(&self, input: &MetricInput<'_>) -> anyhow::Result<MetricOutput> {
        let cfg: Config = serde_json::from_str(input.config)
            .map_err(|e| anyhow::anyhow!("sparse-probing config: {e}"))?;
        ensure!(cfg.k >= 1, "sparse-probing config: k must be at least 1");
        let codes = input.codes()?;
        let labels = input.labels()?;
        ensure!(
            codes.n_rows == labels.n_rows,
            "codes have {} rows but labels have {}",
            codes.n_rows,
            labels.n_rows
        );
        let (n, f, nc) = (codes.n_rows, codes.n_cols, labels.n_cols);
        let is_train = |t: usize| t.is_multiple_of(2);
        let n_train = n.div_ceil(2);
        // Train statistics.
        let mut pos_train = vec![0u64; nc];
        let mut pos_test = vec![0u64; nc];
        for t in 0..n {
            let count = if is_train(t) {
                &mut pos_train
            } else {
                &mut pos_test
            };
            for &c in labels.row_indices(t) {
                count[c as usize] += 1;
            }
        }
        ensure!(n <= u32::MAX as usize, "more than 2^32 tokens");
        // Each thread owns a fixed latent range and scans the train tokens in
        // order: every sum runs in token order whatever the thread count.
        let len = balanced_chunk_len(f, 1, MIN_LATENTS);
        let per_latent = map_chunks(f, len, |latents| {
            let (lo, hi) = (latents.start as u32, latents.end as u32);
            let w = latents.len();
            let mut s = vec![0.0f64; w];
            let mut q = vec![0.0f64; w];
            let mut s_pos = vec![0.0f64; w * nc];
            for t in (0..n).filter(|&t| is_train(t)) {
                let concepts = labels.row_indices(t);
                let idx = codes.row_indices(t);
                let vals = codes.row_values(t);
                for (k, &j) in idx.iter().enumerate() {
                    if j < lo || j >= hi {
                        continue;
                    }
                    let r = (j - lo) as usize;
                    let a = vals.map_or(1.0, |v| v[k]) as f64;
                    s[r] += a;
                    q[r] += a * a;
                    let row = &mut s_pos[r * nc..(r + 1) * nc];
                    for &c in concepts {
                        row[c as usize] += a;
                    }
                }
            }
            (s, q, s_pos)
        });
        let mut s = Vec::with_capacity(f);
        let mut q = Vec::with_capacity(f);
        let mut s_pos = Vec::with_capacity(f * nc);
        for (sc, qc, pc) in per_latent {
            s.extend_from_slice(&sc);
            q.extend_from_slice(&qc);
            s_pos.extend_from_slice(&pc);
        }
        let n_test = n - n_train;
        let sigma: Vec<f64> = (0..f)
            .map(|j| {
                let m = s[j] / n_train.max(1) as f64;
                (q[j] / n_train.max(1) as f64 - m * m).max(0.0).sqrt()
            })
            .collect();
        // Selection and probe per evaluable concept: `sel[j]` lists
        // (concept, weight) with weight = δ_s / σ_j, so that the decision
        // value is Σ a_j · weight − bias.
        // Concepts are independent: select in parallel (fixed chunks), then
        // record in concept order.
        let chosen = map_chunks(nc, CONCEPT_CHUNK, |concepts| {
            let mut cand: Vec<(f64, usize, f64, f64)> = Vec::with_capacity(f);
            concepts
                .map(|c| {
                    let (np, nn) = (pos_train[c], n_train as u64 - pos_train[c]);
                    let (tp, tn) = (pos_test[c], n_test as u64 - pos_test[c]);
                    if np == 0 || nn == 0 || tp == 0 || tn == 0 {
                        return None;
                    }
                    cand.clear();
                    for j in 0..f {
                        // Relative floor: a variance at rounding level is no variance.
                        let floor = 1e-12 * (q[j] / n_train as f64).sqrt();
                        if sigma[j].is_nan() || sigma[j] <= floor {
                            continue;
                        }
                        let mp = s_pos[j * nc + c] / np as f64 / sigma[j];
                        let mn = (s[j] - s_pos[j * nc + c]) / nn as f64 / sigma[j];
                        let key = match cfg.rank {
                            Rank::Standardized => mp - mn,
                            Rank::AbsMeanDifference => ((mp - mn) * sigma[j]).abs(),
                        };
                        cand.push((key, j, mp, mn));
                    }
                    if cand.is_empty() {
                        return None;
                    }
                    let k = cfg.k.min(cand.len());
                    // Largest difference first; ties to the lower latent index.
                    let order = |x: &(f64, usize, f64, f64), y: &(f64, usize, f64, f64)| {
                        y.0.total_cmp(&x.0).then(x.1.cmp(&y.1))
                    };
                    if k < cand.len() {
                        cand.select_nth_unstable_by(k - 1, order);
                    }
                    cand[..k].sort_by(order);
                    Some(cand[..k].to_vec())
                })
                .collect::<Vec<_>>()
        });
        let mut sel: Vec<Vec<(u32, f64)>> = vec![Vec::new(); f];
        let mut bias = vec![0.0f64; nc];
        let mut evaluable = vec![false; nc];
        for (c, picked) in chosen.into_iter().flatten().enumerate() {
            let Some(picked) = picked else { continue };
            evaluable[c] = true;
            for (_, j, mp, mn) in picked {
                sel[j].push((c as u32, (mp - mn) / sigma[j]));
                bias[c] += 0.5 * (mp * mp - mn * mn);
            }
        }
        // Test: decision values are sparse; rows where no selected latent
        // fires get the default prediction `−bias > 0`.
        let default_pred: Vec<bool> = bias.iter().map(|&b| -b > 0.0).collect();
        let mut tp: Vec<i64> = (0..nc)
            .map(|c| {
                if default_pred[c] {
                    pos_test[c] as i64
                } else {
                    0
                }
            })
            .collect();
        let mut tn: Vec<i64> = (0..nc)
            .map(|c| {
                if default_pred[c] {
                    0
                } else {
                    (n_test as u64 - pos_test[c]) as i64
                }
            })
            .collect();
        let mut g = vec![0.0f64; nc];
        let mut touched: Vec<u32> = Vec::new();
        for t in (0..n).filter(|&t| !is_train(t)) {
            touched.clear();
            for (j, a) in codes.row_iter(t) {
                for &(c, w) in &sel[j] {
                    if g[c as usize] == 0.0 && !touched.contains(&c) {
                        touched.push(c);
                    }
                    g[c as usize] += a as f64 * w;
                }
            }
            let concepts = labels.row_indices(t);
            for &c in &touched {
                let ci = c as usize;
                let pred = g[ci] - bias[ci] > 0.0;
                g[ci] = 0.0;
                if pred != default_pred[ci] {
                    let delta = if pred { 1 } else { -1 };
                    if concepts.binary_search(&c).is_ok() {
                        tp[ci] += delta;
                    } else {
                        tn[ci] -= delta;
                    }
                }
            }
        }
        let (mut sum, mut k) = (0.0f64, 0usize);
        for c in (0..nc).filter(|&c| evaluable[c]) {
            let np = pos_test[c] as f64;
            let nn = (n_test as u64 - pos_test[c]) as f64;
            sum += 0.5 * (tp[c] as f64 / np + tn[c] as f64 / nn);
            k += 1;
        }
        if k == 0 {
            return Ok(MetricOutput::undefined(
                "no concept has positive and negative samples in both halves and a latent with \
                 variance",
            ));
        }
        Ok(MetricOutput::value(sum / k as f64))
    }
}

rdpbench_sdk::export_plugin!(metrics: [SparseProbing]);

#[cfg(test)]
mod tests {
    use super::*;
    use rdpbench_core::conditions::{CheckSettings, ConditionId};
    use rdpbench_sdk::testing::{ExampleData, check_examples};

    fn run_cfg(codes: Vec<Vec<f32>>, labels: Vec<Vec<f32>>, config: &str) -> MetricOutput {
        let ex = Example {
            codes: Some(codes),
            labels: Some(labels),
            ..Example::default()
        };
        let data = ExampleData::from_example(&ex).unwrap();
        let mut input = data.input(&[Input::Codes, Input::Labels]);
        input.config = config;
        SparseProbing.compute(&input).unwrap()
    }

    /// Rows 0..8, y = 1 1 0 0 1 1 0 0 (train: even rows, test: odd).
    /// Latent 0 fires (1) exactly where y = 0: raw train difference
    /// 0 − 1 = −1, σ = 0.5, standardised −2. Latent 1 fires only on row 0:
    /// raw difference 0.5, σ = √0.1875, standardised +1.155. rdpbench's
    /// signed standardised ranking (k = 1) takes latent 1, which never fires
    /// on a test row: the probe says "absent" everywhere, balanced accuracy
    /// (0 + 1)/2 = 0.5. SAEBench's |raw difference| ranking takes latent 0:
    /// its class means are z = 0 (present) and 2 (absent), every test row is
    /// classified right, 1.0.
    #[test]
    fn saebench_ranking_by_absolute_raw_difference_hand_computed() {
        let y = [1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0];
        let codes: Vec<Vec<f32>> = y
            .iter()
            .enumerate()
            .map(|(t, &v)| vec![1.0 - v, if t == 0 { 1.0 } else { 0.0 }])
            .collect();
        let labels: Vec<Vec<f32>> = y.iter().map(|&v| vec![v]).collect();
        let ours = run_cfg(codes.clone(), labels.clone(), "{}")
            .as_value()
            .unwrap();
        assert!((ours - 0.5).abs() < 1e-12, "{ours}");
        let saebench = run_cfg(codes, labels, r#"{"rank": "abs_mean_difference"}"#)
            .as_value()
            .unwrap();
        assert!((saebench - 1.0).abs() < 1e-12, "{saebench}");
    }

    fn data() -> (Vec<Vec<f32>>, Vec<Vec<f32>>) {
        let h = |a: usize, b: usize| (a * 7919 + b * 104729 + a * b * 31) % 101;
        let labels: Vec<Vec<f32>> = (0..200)
            .map(|t| {
                (0..3)
                    .map(|c| if h(t, c) < 30 { 1.0 } else { 0.0 })
                    .collect()
            })
            .collect();
        let codes = labels
            .iter()
            .enumerate()
            .map(|(t, y)| {
                (0..5)
                    .map(|j| {
                        let noise = h(t + 1000, j) as f32 / 100.0;
                        let sig = if j < 3 { y[j] } else { y[j - 3] * 0.5 };
                        if sig + noise > 0.9 { sig + noise } else { 0.0 }
                    })
                    .collect()
            })
            .collect();
        (codes, labels)
    }

    #[test]
    fn declared_examples_hold() {
        assert_eq!(check_examples(&SparseProbing).unwrap(), 3);
    }

    #[test]
    fn permutation_and_rescaling_do_not_matter() {
        let (c, y) = data();
        for cfg in ["{}", r#"{"k": 2}"#] {
            let a = run_cfg(c.clone(), y.clone(), cfg).as_value().unwrap();
            let s = [0.1f32, 3.0, 10.0, 0.7, 2.0];
            let c2 = c
                .iter()
                .map(|r| (0..5).rev().map(|j| r[j] * s[j]).collect())
                .collect();
            let b = run_cfg(c2, y.clone(), cfg).as_value().unwrap();
            assert!((a - b).abs() <= 1e-12, "{cfg}: {a} vs {b}");
            assert!(a > 0.5 && a <= 1.0, "{a}");
        }
    }

    #[test]
    fn more_latents_than_exist_and_bad_config() {
        let (c, y) = data();
        assert!(
            run_cfg(c.clone(), y.clone(), r#"{"k": 50}"#)
                .as_value()
                .is_some()
        );
        let ex = Example {
            codes: Some(c),
            labels: Some(y),
            ..Example::default()
        };
        let data = ExampleData::from_example(&ex).unwrap();
        let mut input = data.input(&[Input::Codes, Input::Labels]);
        input.config = r#"{"k": 0}"#;
        assert!(SparseProbing.compute(&input).is_err());
        // All latents dead: undefined.
        assert_eq!(
            run_cfg(
                vec![vec![0.0]; 8],
                (0..8).map(|t| vec![(t % 2) as f32]).collect(),
                "{}"
            )
            .as_value(),
            None
        );
    }

    #[test]
    fn passes_permutation_and_definedness_conditions() {
        let report = rdpbench_core::testing::check(
            SparseProbing,
            &CheckSettings {
                conditions: vec!["C3".into(), "C10".into()],
                ..CheckSettings::quick()
            },
        );
        rdpbench_core::testing::assert_passes(&report, &[ConditionId::C3, ConditionId::C10]);
    }
}

//! # js-separability: how differently a latent behaves with and without its concept
//!
//! Fereidouni et al. 2025 ("Evaluating Sparse Autoencoders for Monosemantic
//! Representation", arXiv 2508.15094) score a neuron by the Jensen-Shannon
//! distance between its concept-conditional activation distributions
//! (histogram estimates). rdpbench's precise definition, for multi-label toy
//! data:
//!
//! 1. States of latent `j` on a token: "silent" (code `≤ 0`), or firing at
//!    level `round(8 · a / max_t a_tj) ∈ {0, …, 8}` (value relative to the
//!    latent's maximum: scale-free; level centres, so ratios such as 1/2 sit
//!    mid-level and f32 rescaling cannot flip them). 10 states.
//! 2. For each concept `c` present on some but not all tokens: `P_jc` = the
//!    state histogram over tokens carrying `c`, `Q_jc` = over tokens not
//!    carrying it (one-vs-rest: a token with several labels belongs to every
//!    one of them).
//! 3. `JSD(P, Q) = ½ KL(P ‖ M) + ½ KL(Q ‖ M)`, `M = (P + Q)/2`, in bits, and
//!    the JS distance `√JSD ∈ [0, 1]`.
//! 4. Per latent, its separability `S_j = max_c √JSD(P_jc, Q_jc)`: how
//!    cleanly the latent's behaviour singles out its best concept; 1 when the
//!    latent fires exactly on that concept (or at a distinct level), lower
//!    when it also fires without it (an OR-merged latent firing on `c'` as
//!    well) or misses part of it.
//! 5. `score = (1/|L|) Σ_{j ∈ L} S_j` over live latents (firing at least
//!    once and with at least one concept that has both classes).
//!
//! The paper compares distributions across concepts; the one-vs-rest,
//! best-concept form is our choice because pairwise averages over all concept
//! pairs reward a latent that responds to several concepts (more distinct
//! pairs), the opposite of the claim. Orientation: higher = *less*
//! polysemantic. Plug-in histograms: C9 may flag small-`N` bias.
//!
//! Dead latents have no per-latent score and are excluded. Undefined when no
//! latent is live or no concept has both classes. Cost `O(nnz(codes) ·
//! labels per token + d_sae · n_concepts · 10)` time, latent-major on all
//! cores (`rdpbench_kernels::label_stats`: each latent's firings and a
//! `[n_concepts, 10]` label tally), `O(nnz + n_concepts · 10)` memory per
//! thread.
#![deny(unsafe_code)]

use rdpbench_kernels::label_stats::{LabelStats, LabelTally};
use rdpbench_sdk::prelude::*;

/// Jensen-Shannon concept separability (see the crate docs).
#[derive(Debug, Default, Clone, Copy)]
pub struct JsSeparability;

const ID: &str = "js-separability";
const DESCRIPTION: &str = "Mean over latents of the largest Jensen-Shannon distance, over concepts, \
    between the latent's activation-level distribution on tokens with and without the concept.";
const LEVELS: usize = 8;
/// Silent + levels 0..=LEVELS.
const STATES: usize = LEVELS + 2;

/// `½ KL(P‖M) + ½ KL(Q‖M)` in bits for count vectors `p` (total `np`) and `q` (total `nq`).
/// `JSD(P, Q)` in bits for count histograms `p` (total `np`) and `q`
/// (total `nq`), clamped to `[0, 1]`. A state where one side is 0 adds
/// exactly half the other side's mass (`log₂ 2 = 1`): that shortcut skips
/// the logarithms without changing a bit.
fn jsd(p: &[u64], np: u64, q: &[u64], nq: u64) -> f64 {
    let (np, nq) = (np as f64, nq as f64);
    let mut out = 0.0;
    for (&a, &b) in p.iter().zip(q) {
        let (pa, qb) = (a as f64 / np, b as f64 / nq);
        if a == 0 {
            if b > 0 {
                out += 0.5 * qb;
            }
            continue;
        }
        if b == 0 {
            out += 0.5 * pa;
            continue;
        }
        let m = 0.5 * (pa + qb);
        out += 0.5 * pa * (pa / m).log2();
        out += 0.5 * qb * (qb / m).log2();
    }
    out.clamp(0.0, 1.0)
}

impl Metric for JsSeparability {
    fn spec(&self) -> MetricSpec {
        MetricSpec {
            id: ID.into(),
            version: "1".into(),
            description: DESCRIPTION.into(),
            citation: "Fereidouni et al. 2025, arXiv 2508.15094 (JS concept separability); \
                       one-vs-rest best-concept form"
                .into(),
            orientation: Orientation::HigherIsLessPolysemantic,
            inputs: vec![Input::Codes, Input::Labels],
            examples: vec![
                Example {
                    description: "OR-like latent fires on c0 (row 0) and c1 (row 1), silent on \
                                  rows 2, 3: for c0, P = (fire 1), Q = (fire 1/3, silent 2/3) → \
                                  JSD = ½(log₂1.5 + 1/3); same for c1; S = √JSD"
                        .into(),
                    codes: Some(vec![vec![1.0], vec![1.0], vec![0.0], vec![0.0]]),
                    labels: Some(vec![
                        vec![1.0, 0.0],
                        vec![0.0, 1.0],
                        vec![0.0, 0.0],
                        vec![0.0, 0.0],
                    ]),
                    expected: Some((0.5 * (1.5f64.log2() + 1.0 / 3.0)).sqrt()),
                    ..Example::default()
                },
                Example {
                    description: "fires everywhere, at half its maximum exactly on c0: level 4 vs \
                                  level 8, disjoint → 1"
                        .into(),
                    codes: Some(vec![vec![1.0], vec![1.0], vec![2.0], vec![2.0]]),
                    labels: Some(vec![vec![1.0], vec![1.0], vec![0.0], vec![0.0]]),
                    expected: Some(1.0),
                    ..Example::default()
                },
                Example {
                    description: "the only concept is on every token (no 'without' class): \
                                  undefined"
                        .into(),
                    codes: Some(vec![vec![1.0], vec![0.0]]),
                    labels: Some(vec![vec![1.0], vec![1.0]]),
                    expected: None,
                    ..Example::default()
                },
            ],
        }
    }

    fn compute(&self, input: &MetricInput<'_>) -> anyhow::Result<MetricOutput> {
        let stats = LabelStats::new(input.codes()?, input.labels()?)?;
        let (n, nc) = (stats.n_tokens(), stats.n_labels());
        let n_c = stats.label_counts();
        // Latent-major: each latent's state counts, overall and per concept
        // (a `[n_concepts, STATES]` tally per thread).
        let per_latent: Vec<Option<f64>> = stats.map_latents(
            || LabelTally::new(nc, STATES),
            |given, firings| {
                let vals = firings.values;
                if vals.is_empty() {
                    return None;
                }
                let hi = vals.iter().fold(0.0f64, |h, &a| h.max(a as f64));
                let state = |a: f32| -> usize {
                    1 + ((a as f64 / hi) * LEVELS as f64).round().min(LEVELS as f64) as usize
                };
                let mut all = [0u64; STATES];
                for (&t, &a) in firings.tokens.iter().zip(vals) {
                    let s = state(a);
                    all[s] += 1;
                    given.add(stats.labels_of(t as usize), s);
                }
                let mut p = [0u64; STATES];
                let mut q = [0u64; STATES];
                let mut best: Option<f64> = None;
                for (c, &np) in n_c.iter().enumerate() {
                    let nq = n as u64 - np;
                    if np == 0 || nq == 0 {
                        continue;
                    }
                    let g = given.row(c);
                    for s in 1..STATES {
                        p[s] = g[s];
                        q[s] = all[s] - g[s];
                    }
                    p[0] = np - g[1..].iter().sum::<u64>();
                    q[0] = nq - q[1..].iter().sum::<u64>();
                    let d = jsd(&p, np, &q, nq).sqrt();
                    best = Some(best.map_or(d, |b: f64| b.max(d)));
                }
                given.clear();
                best
            },
        );
        let (mut sum, mut k) = (0.0f64, 0usize);
        for b in per_latent.iter().flatten() {
            sum += b;
            k += 1;
        }
        if k == 0 {
            return Ok(MetricOutput::undefined(
                "no live latent, or no concept present on some but not all tokens",
            ));
        }
        Ok(MetricOutput::Value {
            value: sum / k as f64,
            per_latent: input.per_latent.then_some(per_latent),
        })
    }
}

rdpbench_sdk::export_plugin!(metrics: [JsSeparability]);

#[cfg(test)]
mod tests {
    use super::*;
    use rdpbench_core::conditions::{CheckSettings, ConditionId};
    use rdpbench_sdk::testing::{
        check_examples, compute_on_codes_and_labels, hashed_codes_and_labels as data,
    };

    fn run(codes: Vec<Vec<f32>>, labels: Vec<Vec<f32>>) -> MetricOutput {
        compute_on_codes_and_labels(&JsSeparability, codes, labels).unwrap()
    }

    /// The textbook sum over states, every term with its logarithms.
    fn jsd_reference(p: &[u64], np: u64, q: &[u64], nq: u64) -> f64 {
        let (np, nq) = (np as f64, nq as f64);
        let mut out = 0.0;
        for (&a, &b) in p.iter().zip(q) {
            let (pa, qb) = (a as f64 / np, b as f64 / nq);
            let m = 0.5 * (pa + qb);
            if pa > 0.0 {
                out += 0.5 * pa * (pa / m).log2();
            }
            if qb > 0.0 {
                out += 0.5 * qb * (qb / m).log2();
            }
        }
        out.clamp(0.0, 1.0)
    }

    #[test]
    fn jsd_shortcut_for_one_sided_states_changes_no_bit() {
        assert_eq!(2f64.log2(), 1.0);
        let cases: [([u64; 4], [u64; 4]); 4] = [
            ([5, 0, 3, 0], [0, 7, 2, 1]),
            ([1, 0, 0, 0], [0, 0, 0, 9]),
            ([3, 3, 3, 3], [1, 2, 3, 4]),
            ([0, 0, 7, 0], [13, 0, 0, 0]),
        ];
        for (p, q) in cases {
            let (np, nq) = (p.iter().sum(), q.iter().sum());
            let (a, b) = (jsd(&p, np, &q, nq), jsd_reference(&p, np, &q, nq));
            assert_eq!(a.to_bits(), b.to_bits(), "{p:?} {q:?}: {a} vs {b}");
        }
    }

    #[test]
    fn declared_examples_hold() {
        assert_eq!(check_examples(&JsSeparability).unwrap(), 3);
    }

    #[test]
    fn permutation_and_rescaling_do_not_matter() {
        let (c, y) = data();
        let a = run(c.clone(), y.clone()).as_value().unwrap();
        // Power-of-two scales are exact in f32, so levels cannot move.
        let s = [0.125f32, 4.0, 16.0, 0.5];
        let c2 = c
            .iter()
            .map(|r| (0..4).rev().map(|j| r[j] * s[j]).collect())
            .collect();
        let b = run(c2, y).as_value().unwrap();
        assert!((a - b).abs() <= 1e-12, "{a} vs {b}");
        assert!(a > 0.0 && a < 1.0);
    }

    #[test]
    fn latent_that_ignores_its_concepts_scores_zero() {
        // Fires on every token at one value: P = Q for every concept.
        let y = vec![vec![1.0, 0.0], vec![0.0, 1.0], vec![0.0, 0.0]];
        assert_eq!(run(vec![vec![2.0]; 3], y).as_value(), Some(0.0));
        assert_eq!(run(vec![], vec![]).as_value(), None);
    }

    #[test]
    fn passes_permutation_and_definedness_conditions() {
        let report = rdpbench_core::testing::check(
            JsSeparability,
            &CheckSettings {
                conditions: vec!["C3".into(), "C10".into()],
                ..CheckSettings::quick()
            },
        );
        rdpbench_core::testing::assert_passes(&report, &[ConditionId::C3, ConditionId::C10]);
    }
}

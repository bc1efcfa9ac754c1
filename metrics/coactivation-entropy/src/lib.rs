//! # coactivation-entropy: how many different latents a latent fires with
//!
//! With "fires" = code `> 0`, the firing count `F_j = #{t : a_tj > 0}` and
//! the co-firing counts `C_jk = #{t : a_tj > 0, a_tk > 0}` for `k ≠ j`, the
//! partner distribution `p_jk = C_jk / Σ_k C_jk`, its entropy
//! `H_j = −Σ_k p_jk ln p_jk` and the effective number of partners
//! `E_j = exp(H_j)`:
//!
//! `score = Σ_j F_j E_j / Σ_j F_j` over the latents with at least one
//! co-firing partner (firing-frequency weights, as in `P_gt`).
//!
//! The hypothesis it encodes: a monosemantic latent co-fires with the
//! partners of one concept; a latent that serves several unrelated concepts
//! inherits the union of their contexts, so its co-firing partners are more
//! diverse. Higher = more polysemantic. It is a code-statistics proxy in the
//! spirit of co-activation analyses of SAE latents (feature co-occurrence
//! graphs, e.g. Bricken et al. 2023; Matryoshka/absorption studies use
//! co-firing to find split and absorbed features); rdpbench's definition.
//! Expect it to read co-occurrence (C8) and splitting (C7: a split partner
//! counts as two) as polysemanticity: both are findings about the idea.
//!
//! Per-latent score `E_j`; undefined for dead latents and for latents that
//! never fire together with another (no partner distribution). Undefined
//! when no latent has a partner, which is every SAE whose codes never have
//! two positive entries on one token: TopK (or BatchTopK) at `k = 1` and any
//! SAE with `L0 ≤ 1` on every token. That is the definition, not a gap to
//! fill: `p_jk = C_jk / Σ_k C_jk` is `0/0` for a partnerless latent, and
//! neither convention would measure the hypothesis: `E_j = 0` ("no
//! partners") or `E_j = 1` (`exp` of the entropy of an empty sum) would
//! score every `k = 1` SAE as maximally (resp. perfectly) monosemantic on
//! no evidence about how its latents share contexts, and including such
//! latents with either value would also move the score of SAEs that are
//! defined today. Partnerless latents are therefore left out of the
//! weights, and an SAE with none left is "undefined" (in `rdpbench
//! validity`, the TopK `k = 1` SAEs of the default population: 6 of 42).
//! Each latent's partner counts enter the
//! entropy sum in ascending order (a histogram of the count values), so
//! `E_j` is bit-identical under latent permutation. Cost `O(Σ_t L0_t²)` time
//! (each token's co-firing pairs, once per member), latent-major on all
//! cores, `O(nnz + d_sae)` memory per thread (a transposed firing pattern
//! and one scratch counter; no `d_sae²` table).
#![deny(unsafe_code)]

use rdpbench_kernels::{Firing, LatentMajor, map_chunks};
use rdpbench_sdk::prelude::*;

/// Latents per parallel chunk.
const LATENT_CHUNK: usize = 512;

/// Co-activation entropy (see the crate docs).
#[derive(Debug, Default, Clone, Copy)]
pub struct CoactivationEntropy;

const ID: &str = "coactivation-entropy";
const DESCRIPTION: &str = "Firing-weighted mean over latents of the effective number of co-firing \
    partners, exp of the entropy of the partner distribution.";

/// Per-latent effective number of partners and firing counts.
/// `E_j` per latent (`None` without partners) and the firing counts `F_j`.
///
/// Latent-major over a transposed firing pattern, latents split across
/// threads in fixed chunks (each latent's value is computed alone, so the
/// split cannot change a bit). The partner counts enter the entropy sum in
/// ascending order via a histogram of count values: the same additions, in
/// the same order, as summing the sorted counts, without the sort.
fn per_latent(codes: &CsrView<'_>) -> (Vec<Option<f64>>, Vec<u64>) {
    let f = codes.n_cols;
    let by_latent = LatentMajor::build(codes, Firing::Positive);
    let fires: Vec<u64> = (0..f).map(|j| by_latent.count(j) as u64).collect();
    let parts = map_chunks(f, LATENT_CHUNK, |latents| {
        let mut count = vec![0u32; f];
        let mut touched: Vec<u32> = Vec::new();
        let mut hist: Vec<u32> = Vec::new();
        latents
            .map(|j| {
                touched.clear();
                for &t in by_latent.tokens(j) {
                    let t = t as usize;
                    let idx = codes.row_indices(t);
                    let vals = codes.row_values(t);
                    for (pos, &k) in idx.iter().enumerate() {
                        let k = k as usize;
                        if k == j || vals.is_some_and(|v| v[pos] <= 0.0) {
                            continue;
                        }
                        if count[k] == 0 {
                            touched.push(k as u32);
                        }
                        count[k] += 1;
                    }
                }
                if touched.is_empty() {
                    return None;
                }
                let mut total = 0u64;
                let mut max_count = 0usize;
                for &k in &touched {
                    let c = count[k as usize] as usize;
                    total += c as u64;
                    max_count = max_count.max(c);
                }
                if hist.len() <= max_count {
                    hist.resize(max_count + 1, 0);
                }
                for &k in &touched {
                    hist[count[k as usize] as usize] += 1;
                    count[k as usize] = 0;
                }
                let total = total as f64;
                let mut h = 0.0f64;
                for (c, m) in hist[..=max_count].iter_mut().enumerate() {
                    if *m > 0 {
                        let p = c as f64 / total;
                        let term = -p * p.ln();
                        for _ in 0..*m {
                            h += term;
                        }
                        *m = 0;
                    }
                }
                Some(h.exp())
            })
            .collect::<Vec<_>>()
    });
    (parts.into_iter().flatten().collect(), fires)
}

impl Metric for CoactivationEntropy {
    fn spec(&self) -> MetricSpec {
        MetricSpec {
            id: ID.into(),
            version: "1".into(),
            description: DESCRIPTION.into(),
            citation: "rdpbench definition; co-activation statistics of SAE latents as in \
                       Bricken et al. 2023 (Towards Monosemanticity)"
                .into(),
            orientation: Orientation::HigherIsMorePolysemantic,
            inputs: vec![Input::Codes],
            examples: vec![
                Example {
                    description: "firing sets t0 {0,1}, t1 {0,2}, t2 {0,1}, t3 {1}: latent 0 has \
                                  partners (1: 2, 2: 1) → E = 3/2^(2/3), latents 1 and 2 one \
                                  partner each → E = 1; weights F = 3, 3, 1"
                        .into(),
                    codes: Some(vec![
                        vec![1.0, 2.0, 0.0],
                        vec![1.0, 0.0, 5.0],
                        vec![3.0, 1.0, 0.0],
                        vec![0.0, 1.0, 0.0],
                    ]),
                    expected: Some((3.0 * 3.0 / 2f64.powf(2.0 / 3.0) + 3.0 + 1.0) / 7.0),
                    ..Example::default()
                },
                Example {
                    description: "one latent fires with three equally frequent partners → 3 for \
                                  it (fires 3 times), 1 for each partner (fires once): (3·3 + 3·1)/6"
                        .into(),
                    codes: Some(vec![
                        vec![1.0, 1.0, 0.0, 0.0],
                        vec![1.0, 0.0, 1.0, 0.0],
                        vec![1.0, 0.0, 0.0, 1.0],
                    ]),
                    expected: Some(2.0),
                    ..Example::default()
                },
                Example {
                    description: "no two latents ever fire together: undefined".into(),
                    codes: Some(vec![vec![1.0, 0.0], vec![0.0, 2.0]]),
                    expected: None,
                    ..Example::default()
                },
            ],
        }
    }

    fn compute(&self, input: &MetricInput<'_>) -> anyhow::Result<MetricOutput> {
        let codes = input.codes()?;
        let (per, fires) = per_latent(&codes);
        let (mut num, mut den) = (0.0f64, 0u64);
        for (e, &c) in per.iter().zip(&fires) {
            if let Some(e) = e {
                num += c as f64 * e;
                den += c;
            }
        }
        if den == 0 {
            return Ok(MetricOutput::undefined(
                "no latent fires together with another latent",
            ));
        }
        Ok(MetricOutput::Value {
            value: num / den as f64,
            per_latent: input.per_latent.then_some(per),
        })
    }
}

rdpbench_sdk::export_plugin!(metrics: [CoactivationEntropy]);

#[cfg(test)]
mod tests {
    use super::*;
    use rdpbench_core::conditions::{CheckSettings, ConditionId};
    use rdpbench_sdk::testing::{ExampleData, check_examples};

    fn run(codes: Vec<Vec<f32>>) -> MetricOutput {
        let ex = Example {
            codes: Some(codes),
            ..Example::default()
        };
        let data = ExampleData::from_example(&ex).unwrap();
        CoactivationEntropy
            .compute(&data.input(&[Input::Codes]))
            .unwrap()
    }

    fn data() -> Vec<Vec<f32>> {
        let h = |a: usize, b: usize| (a * 7919 + b * 104729 + a * b * 31) % 101;
        (0..60)
            .map(|t| {
                (0..7)
                    .map(|j| {
                        if h(t, j) < 35 {
                            1.0 + h(t + 5, j) as f32 / 50.0
                        } else {
                            0.0
                        }
                    })
                    .collect()
            })
            .collect()
    }

    #[test]
    fn declared_examples_hold() {
        assert_eq!(check_examples(&CoactivationEntropy).unwrap(), 3);
    }

    #[test]
    fn permutation_rescaling_and_dead_padding_do_not_matter() {
        let c = data();
        let a = run(c.clone()).as_value().unwrap();
        let c2 = c
            .iter()
            .map(|r| {
                let mut v: Vec<f32> = (0..7).rev().map(|j| r[j] * (j as f32 + 0.5)).collect();
                v.insert(3, 0.0);
                v
            })
            .collect();
        let b = run(c2).as_value().unwrap();
        assert!((a - b).abs() <= 1e-12 * a, "{a} vs {b}");
        assert_eq!(run(c).as_value().unwrap().to_bits(), a.to_bits());
    }

    #[test]
    fn partnerless_latents_are_left_out_and_one_latent_per_token_is_undefined() {
        // Firing sets t0 {0,1}, t1 {0,2}, t2..t4 {3}: latent 0 has partners
        // (1: 1, 2: 1) → E_0 = exp(ln 2) = 2, F_0 = 2; latents 1 and 2 one
        // partner each → E = 1, F = 1; latent 3 fires 3 times, never with
        // another: no partner distribution, left out of the weights.
        // score = (2·2 + 1·1 + 1·1) / (2 + 1 + 1) = 1.5 (with E_3 = 0 it
        // would be 6/7, with E_3 = 1 it would be 9/7).
        let codes = vec![
            vec![1.0, 0.5, 0.0, 0.0],
            vec![2.0, 0.0, 1.0, 0.0],
            vec![0.0, 0.0, 0.0, 3.0],
            vec![0.0, 0.0, 0.0, 1.0],
            vec![0.0, 0.0, 0.0, 2.0],
        ];
        let ex = Example {
            codes: Some(codes),
            ..Example::default()
        };
        let data = ExampleData::from_example(&ex).unwrap();
        let mut input = data.input(&[Input::Codes]);
        input.per_latent = true;
        let MetricOutput::Value { value, per_latent } =
            CoactivationEntropy.compute(&input).unwrap()
        else {
            panic!("defined: latents 0, 1, 2 have partners")
        };
        assert!((value - 1.5).abs() <= 1e-15, "{value}");
        let per_latent = per_latent.unwrap();
        assert!((per_latent[0].unwrap() - 2.0).abs() <= 1e-15);
        assert_eq!(per_latent[1], Some(1.0));
        assert_eq!(per_latent[2], Some(1.0));
        assert_eq!(per_latent[3], None);
        // TopK with k = 1: one positive code per token (a negative code is
        // not a firing), every latent partnerless → undefined, not 0 or 1.
        let k1 = vec![
            vec![0.0, 2.0, 0.0],
            vec![1.0, 0.0, -0.5],
            vec![0.0, 0.0, 4.0],
            vec![0.0, 3.0, 0.0],
        ];
        assert_eq!(run(k1).as_value(), None);
    }

    #[test]
    fn edge_cases() {
        assert_eq!(run(vec![]).as_value(), None);
        // N = 1 with two co-firing latents: one partner each.
        assert_eq!(run(vec![vec![1.0, 1.0, 0.0]]).as_value(), Some(1.0));
        // A negative code is not a firing.
        assert_eq!(run(vec![vec![1.0, -1.0]]).as_value(), None);
    }

    #[test]
    fn passes_permutation_and_definedness_conditions() {
        let report = rdpbench_core::testing::check(
            CoactivationEntropy,
            &CheckSettings {
                conditions: vec!["C3".into(), "C10".into()],
                ..CheckSettings::quick()
            },
        );
        rdpbench_core::testing::assert_passes(&report, &[ConditionId::C3, ConditionId::C10]);
    }
}

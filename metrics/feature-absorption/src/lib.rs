//! # feature-absorption: how often a child latent fires in place of its parent's
//!
//! Feature absorption (Chanin et al. 2024, "A is for Absorption"; SAEBench's
//! absorption eval): where a parent concept implies a child (`child ⇒
//! parent`), an SAE trained for sparsity can let the child's latent absorb
//! the parent, so that the parent's latent stays silent exactly where the
//! child is present. SAEBench finds the parent's latent with a probe
//! direction; with codes and labels only, rdpbench defines it operationally:
//!
//! 1. **Hierarchy, from the labels.** Concept `c` is a child of `p` when it
//!    occurs (`n_c ≥ 1`), every token carrying `c` carries `p`, and `p`
//!    occurs strictly more often (`n_p > n_c`; equal sets are
//!    indistinguishable, not a hierarchy).
//! 2. **Best latents.** For each concept, the latents whose firing (code
//!    `> 0`) has the highest F1 against the concept's presence,
//!    `F1_jc = 2 TP_jc / (F_j + n_c)`, compared exactly as rationals; all
//!    latents tied at the maximum form the set `B_c` (so latent order cannot
//!    change the result). A concept no latent ever fires on has no `B_c`.
//! 3. **Absorption.** Eligible tokens: the parent `p` and at least one of its
//!    children present. An eligible token is *absorbed* when no latent of
//!    `B_p` fires and, for some child `c` present on it, a latent of
//!    `B_c \ B_p` fires.
//!
//! `score = Σ_p absorbed_p / Σ_p eligible_p` (pooled over parents that have a
//! best latent). 0 when the parent's latent always fires alongside the child
//! latents, 1 when it is always silent there. Orientation: higher = more
//! polysemantic (an absorbing child latent carries the parent's direction
//! too: one latent, two concepts). Concept-level: no per-latent scores.
//!
//! Undefined when the labels contain no hierarchy, or when no parent has a
//! best latent and an eligible token. The default toy model has no
//! hierarchy, so `rdpbench check` reports C1/C2/C7/C8/C9/C11 as failed
//! ("undefined") there; with a `[toy] hierarchy` config the metric is
//! defined but the ladders (which merge co-occurring groups) contain no
//! absorption, so it is flat at 0 on every rung: its C1/C2 need an
//! absorbing oracle the workbench does not build yet. Multi-label tokens are the norm
//! here (a child token carries its parent). Reads only the sign of the codes:
//! exactly scale-free. Cost `O(nnz(codes) · labels per token + Σ_t |y_t|² +
//! d_sae · n_concepts + n_concepts²)` time, concept-major on all cores (one
//! concept's `[d_sae]` column of the latent × concept counts at a time, from
//! `rdpbench_kernels::label_stats` with `Count`),
//! `O(d_sae · n_chunks + nnz(labels) + n_concepts²)` memory.
#![deny(unsafe_code)]

use rdpbench_kernels::label_stats::{Count, LabelStats, Tokens};
use rdpbench_sdk::prelude::*;

/// Feature absorption fraction (see the crate docs).
#[derive(Debug, Default, Clone, Copy)]
pub struct FeatureAbsorption;

const ID: &str = "feature-absorption";
const DESCRIPTION: &str = "Fraction of tokens carrying a parent concept and one of its children \
    (hierarchy read from the labels) on which the parent's best latent is silent while a child's \
    best latent fires.";

impl Metric for FeatureAbsorption {
    fn spec(&self) -> MetricSpec {
        let parent_child = |rows: &[(bool, bool)]| -> Vec<Vec<f32>> {
            rows.iter()
                .map(|&(p, c)| vec![p as u8 as f32, c as u8 as f32])
                .collect()
        };
        // Tokens: t0, t3, t4 carry the parent only; t1, t2 parent and child; t5 nothing.
        let labels = parent_child(&[
            (true, false),
            (true, true),
            (true, true),
            (true, false),
            (true, false),
            (false, false),
        ]);
        MetricSpec {
            id: ID.into(),
            version: "1".into(),
            description: DESCRIPTION.into(),
            citation: "Chanin et al. 2024, A is for Absorption; SAEBench absorption eval \
                       (Karvonen et al. 2025); operational codes+labels form"
                .into(),
            orientation: Orientation::HigherIsMorePolysemantic,
            inputs: vec![Input::Codes, Input::Labels],
            examples: vec![
                Example {
                    description: "c1 ⊂ c0. Latent 0 fires on the parent-only tokens (F1 for c0 = \
                                  6/8, best), latent 1 on the child tokens (F1 for c1 = 1): the \
                                  parent latent is silent on both eligible tokens → 1"
                        .into(),
                    codes: Some(vec![
                        vec![1.0, 0.0],
                        vec![0.0, 2.0],
                        vec![0.0, 2.0],
                        vec![1.0, 0.0],
                        vec![1.0, 0.0],
                        vec![0.0, 0.0],
                    ]),
                    labels: Some(labels.clone()),
                    expected: Some(1.0),
                    ..Example::default()
                },
                Example {
                    description: "as above, but latent 0 also fires on t1 (F1 = 8/9, still \
                                  best): t1 not absorbed, t2 absorbed → 1/2"
                        .into(),
                    codes: Some(vec![
                        vec![1.0, 0.0],
                        vec![1.0, 2.0],
                        vec![0.0, 2.0],
                        vec![1.0, 0.0],
                        vec![1.0, 0.0],
                        vec![0.0, 0.0],
                    ]),
                    labels: Some(labels),
                    expected: Some(0.5),
                    ..Example::default()
                },
                Example {
                    description: "no concept contains another: no hierarchy → undefined".into(),
                    codes: Some(vec![vec![1.0, 0.0], vec![0.0, 1.0], vec![1.0, 1.0]]),
                    labels: Some(vec![vec![1.0, 0.0], vec![0.0, 1.0], vec![1.0, 0.0]]),
                    expected: None,
                    ..Example::default()
                },
            ],
        }
    }

    fn compute(&self, input: &MetricInput<'_>) -> anyhow::Result<MetricOutput> {
        let stats = LabelStats::new(input.codes()?, input.labels()?)?;
        let (n, f, nc) = (stats.n_tokens(), stats.n_latents(), stats.n_labels());
        // Label counts and co-counts.
        let n_c = stats.label_counts();
        let mut co = vec![0u64; nc * nc];
        for t in 0..n {
            let ys = stats.labels_of(t);
            for &a in ys {
                for &b in ys {
                    co[a as usize * nc + b as usize] += 1;
                }
            }
        }
        let mut children: Vec<Vec<u32>> = vec![Vec::new(); nc];
        let mut any = false;
        for c in 0..nc {
            for p in 0..nc {
                if c != p && n_c[c] >= 1 && co[c * nc + p] == n_c[c] && n_c[p] > n_c[c] {
                    children[p].push(c as u32);
                    any = true;
                }
            }
        }
        if !any {
            return Ok(MetricOutput::undefined(
                "the labels contain no parent/child hierarchy",
            ));
        }
        // Firing counts and true positives per (latent, concept).
        let fires = stats.firing_counts(Tokens::All);
        let involved: Vec<bool> = (0..nc).map(|c| !children[c].is_empty()).collect::<Vec<_>>();
        let mut is_involved = involved.clone();
        for kids in &children {
            for &c in kids {
                is_involved[c as usize] = true;
            }
        }
        // Best latents per involved concept, concept-major: the column
        // tp[·, c] = #{t : a_tj > 0, c ∈ y_t} in a cache-resident `[d_sae]`
        // buffer; maximal tp / (fires + n_c) over latents in index order,
        // all ties kept, compared exactly in integers.
        let mut best: Vec<Vec<u32>> = vec![Vec::new(); nc];
        for (c, latents) in stats
            .fold_label_columns(
                Count,
                |c| is_involved[c],
                Vec::new,
                |out: &mut Vec<(usize, Vec<u32>)>, c, column| {
                    let mut best = Vec::new();
                    let (mut bt, mut bd) = (0u128, 1u128);
                    for (j, &t) in column.iter().enumerate() {
                        if t == 0 {
                            continue;
                        }
                        let t = t as u128;
                        let d = (fires[j] + n_c[c]) as u128;
                        let (lhs, rhs) = (t * bd, bt * d);
                        if lhs > rhs {
                            best.clear();
                            (bt, bd) = (t, d);
                        }
                        if lhs >= rhs {
                            best.push(j as u32);
                        }
                    }
                    out.push((c, best));
                },
            )
            .into_iter()
            .flatten()
        {
            best[c] = latents;
        }
        let mut firing = vec![false; f];
        let (mut absorbed, mut eligible) = (0u64, 0u64);
        for t in 0..n {
            let ys = stats.labels_of(t);
            if ys.len() < 2 {
                continue;
            }
            stats.firing(t).for_each(|j| firing[j] = true);
            for &p in ys {
                let p = p as usize;
                if children[p].is_empty() || best[p].is_empty() {
                    continue;
                }
                let present: Vec<u32> = children[p]
                    .iter()
                    .copied()
                    .filter(|c| ys.binary_search(c).is_ok())
                    .collect();
                if present.is_empty() {
                    continue;
                }
                eligible += 1;
                let parent_fires = best[p].iter().any(|&j| firing[j as usize]);
                if parent_fires {
                    continue;
                }
                let child_fires = present.iter().any(|&c| {
                    best[c as usize]
                        .iter()
                        .any(|&j| firing[j as usize] && !best[p].contains(&j))
                });
                if child_fires {
                    absorbed += 1;
                }
            }
            stats.firing(t).for_each(|j| firing[j] = false);
        }
        if eligible == 0 {
            return Ok(MetricOutput::undefined(
                "no token carries a parent with a best latent together with one of its children",
            ));
        }
        Ok(MetricOutput::value(absorbed as f64 / eligible as f64))
    }
}

rdpbench_sdk::export_plugin!(metrics: [FeatureAbsorption]);

#[cfg(test)]
mod tests {
    use super::*;
    use rdpbench_core::conditions::{CheckSettings, ConditionId};
    use rdpbench_sdk::testing::{check_examples, compute_on_codes_and_labels};

    fn run(codes: Vec<Vec<f32>>, labels: Vec<Vec<f32>>) -> MetricOutput {
        compute_on_codes_and_labels(&FeatureAbsorption, codes, labels).unwrap()
    }

    /// Two parents (c0, c2) with one child each (c1 ⊂ c0, c3 ⊂ c2), 40 tokens;
    /// latents: 0 = parent c0 (absorbed where c1 is present on odd tokens),
    /// 1 = child c1, 2 = parent c2 (never absorbed), 3 = child c3, 4 = noise.
    fn data() -> (Vec<Vec<f32>>, Vec<Vec<f32>>) {
        let mut codes = Vec::new();
        let mut labels = Vec::new();
        for t in 0..40usize {
            let c0 = t.is_multiple_of(2) || t.is_multiple_of(5);
            let c1 = c0 && t % 5 == 0;
            let c2 = t % 3 == 0;
            let c3 = c2 && t % 9 == 0;
            labels.push(vec![
                c0 as u8 as f32,
                c1 as u8 as f32,
                c2 as u8 as f32,
                c3 as u8 as f32,
            ]);
            let absorbed = c1 && !t.is_multiple_of(2);
            let l0 = c0 && !absorbed;
            codes.push(vec![
                if l0 { 1.5 } else { 0.0 },
                if c1 { 2.0 } else { 0.0 },
                if c2 { 0.5 } else { 0.0 },
                if c3 { 1.0 } else { 0.0 },
                if t % 7 == 0 { 3.0 } else { 0.0 },
            ]);
        }
        (codes, labels)
    }

    #[test]
    fn declared_examples_hold() {
        assert_eq!(check_examples(&FeatureAbsorption).unwrap(), 3);
    }

    #[test]
    fn absorbed_fraction_on_two_hierarchies() {
        let (c, y) = data();
        // Eligible: c1 tokens t ∈ {0,5,...,35} (8) and c3 tokens {0,9,18,27,36} (5);
        // absorbed: odd multiples of 5 (5, 15, 25, 35) → 4/13.
        assert_eq!(run(c, y).as_value(), Some(4.0 / 13.0));
    }

    #[test]
    fn permutation_and_rescaling_do_not_matter() {
        let (c, y) = data();
        let a = run(c.clone(), y.clone()).as_value().unwrap();
        let s = [0.1f32, 3.0, 10.0, 0.7, 2.0];
        let c2 = c
            .iter()
            .map(|r| (0..5).rev().map(|j| r[j] * s[j]).collect())
            .collect();
        assert_eq!(run(c2, y).as_value().unwrap().to_bits(), a.to_bits());
    }

    #[test]
    fn tied_best_parent_latents_count_as_one() {
        // Two identical parent latents (a split): absorbed only if both are silent.
        let y = vec![
            vec![1.0, 0.0],
            vec![1.0, 1.0],
            vec![1.0, 1.0],
            vec![1.0, 0.0],
            vec![1.0, 0.0],
            vec![0.0, 0.0],
        ];
        let c = vec![
            vec![1.0, 1.0, 0.0],
            vec![0.0, 0.0, 2.0],
            vec![1.0, 1.0, 2.0],
            vec![1.0, 1.0, 0.0],
            vec![1.0, 1.0, 0.0],
            vec![0.0, 0.0, 0.0],
        ];
        assert_eq!(run(c, y).as_value(), Some(0.5));
        assert_eq!(run(vec![], vec![]).as_value(), None);
    }

    #[test]
    fn passes_permutation_and_definedness_conditions() {
        let report = rdpbench_core::testing::check(
            FeatureAbsorption,
            &CheckSettings {
                conditions: vec!["C3".into(), "C10".into()],
                ..CheckSettings::quick()
            },
        );
        rdpbench_core::testing::assert_passes(&report, &[ConditionId::C3, ConditionId::C10]);
    }
}

//! # feature-dimensionality: how much of a dimension each decoder row gets
//!
//! Feature dimensionality from Elhage et al. 2022, "Toy Models of
//! Superposition" (section "Feature Dimensionality"):
//! `D_i = ‖W_i‖² / Σ_j (Ŵ_i · W_j)²`, the fraction of a dimension feature
//! `i` occupies: 1 when it is orthogonal to every other feature, `1/m` when
//! `m` features share one direction, 2/5 for a pentagon in 2-D.
//!
//! For an SAE the features are the decoder rows `w_j`. Elhage's formula
//! weights each neighbour by its norm, which a per-latent rescaling of the
//! SAE (code × s, decoder ÷ s: condition C4) changes although no concept
//! content changes; rdpbench therefore uses unit rows `u_j = w_j / ‖w_j‖`,
//! which is exactly Elhage's formula whenever all rows have equal norm:
//!
//! `D_j = 1 / Σ_{k ∈ L} ⟨u_j, u_k⟩²`  (the `k = j` term is 1, so `D_j ∈ (0, 1]`),
//! `score = (1/|L|) Σ_{j ∈ L} D_j`,
//!
//! over the rows `L` with non-zero, finite norm (a zero row has no
//! direction: excluded, no per-latent score; undefined when `L` is empty).
//! Aggregation: the plain mean, i.e. the average dimensionality per live
//! latent (Elhage plot `D_i` per feature and its sum, the number of
//! dimensions used; the mean is the sum over `|L|`, comparable across SAE
//! widths). Orientation: higher = *less* polysemantic (low dimensionality =
//! more superposition/overlap between latents, which is what merged latents
//! such as `normalize(v_1 + v_2)` next to `v_1` and `v_2` produce).
//!
//! Reads the decoder only: no data, so C8/C11 are vacuous or trivially met
//! and it cannot tell a dead latent (padding adds random rows that overlap
//! the live ones: C6 is expected to fail, as for mean max decoder cosine).
//!
//! Cost: `Σ_k ⟨u_j,u_k⟩² = u_jᵀ (Σ_k u_k u_kᵀ) u_j`, so with `d_in ≤ |L|`
//! it builds the frame operator `G = Uᵀ U` (`d_in × d_in`) once and costs
//! `O(|L| · d_in²)`; otherwise a blocked upper-triangle Gram product,
//! `O(|L|² · d_in)`. `f64` throughout, fixed loop order, single-threaded.
#![deny(unsafe_code)]

use rdpbench_sdk::prelude::*;

/// Mean feature dimensionality (see the crate docs).
#[derive(Debug, Default, Clone, Copy)]
pub struct FeatureDimensionality;

const ID: &str = "feature-dimensionality";
const DESCRIPTION: &str = "Mean over decoder rows of the feature dimensionality \
    1 / Σ_k cos²(w_j, w_k) (Elhage et al. 2022, on unit rows).";
const BLOCK: usize = 32;

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// `Σ_k ⟨u_j, u_k⟩²` for each unit row `j` of `u` (`n` rows of length `d`).
fn overlap(u: &[f64], n: usize, d: usize) -> Vec<f64> {
    let row = |i: usize| &u[i * d..(i + 1) * d];
    if d <= n {
        // Frame operator G = Σ_k u_k u_kᵀ, upper triangle then mirrored.
        let mut g = vec![0.0f64; d * d];
        for k in 0..n {
            let r = row(k);
            for a in 0..d {
                let ra = r[a];
                if ra == 0.0 {
                    continue;
                }
                let ga = &mut g[a * d..(a + 1) * d];
                for b in a..d {
                    ga[b] += ra * r[b];
                }
            }
        }
        for a in 0..d {
            for b in 0..a {
                g[a * d + b] = g[b * d + a];
            }
        }
        let mut gu = vec![0.0f64; d];
        (0..n)
            .map(|j| {
                let r = row(j);
                for (a, x) in gu.iter_mut().enumerate() {
                    *x = dot(&g[a * d..(a + 1) * d], r);
                }
                dot(r, &gu)
            })
            .collect()
    } else {
        let mut s: Vec<f64> = (0..n).map(|j| dot(row(j), row(j)).powi(2)).collect();
        for bi in (0..n).step_by(BLOCK) {
            for bj in (bi..n).step_by(BLOCK) {
                for i in bi..(bi + BLOCK).min(n) {
                    for j in bj.max(i + 1)..(bj + BLOCK).min(n) {
                        let c = dot(row(i), row(j));
                        s[i] += c * c;
                        s[j] += c * c;
                    }
                }
            }
        }
        s
    }
}

impl Metric for FeatureDimensionality {
    fn spec(&self) -> MetricSpec {
        MetricSpec {
            id: ID.into(),
            version: "1".into(),
            description: DESCRIPTION.into(),
            citation: "Elhage et al. 2022, Toy Models of Superposition, feature dimensionality \
                       D_i; on unit decoder rows"
                .into(),
            orientation: Orientation::HigherIsLessPolysemantic,
            inputs: vec![Input::Decoder],
            examples: vec![
                Example {
                    description: "orthogonal rows (any norms): D = 1 each".into(),
                    decoder: Some(vec![vec![2.0, 0.0, 0.0], vec![0.0, 0.0, -0.5]]),
                    expected: Some(1.0),
                    ..Example::default()
                },
                Example {
                    description: "e1, e2, (e1+e2)/√2 and a zero row: D = 1/(1+0+1/2) = 2/3, 2/3, \
                                  1/(1/2+1/2+1) = 1/2 → 11/18"
                        .into(),
                    decoder: Some(vec![
                        vec![1.0, 0.0],
                        vec![0.0, 3.0],
                        vec![0.0, 0.0],
                        vec![1.0, 1.0],
                    ]),
                    expected: Some(11.0 / 18.0),
                    ..Example::default()
                },
                Example {
                    description: "the same direction twice (opposite signs): D = 1/2 each".into(),
                    decoder: Some(vec![vec![1.0, 2.0, 0.0], vec![-2.0, -4.0, 0.0]]),
                    expected: Some(0.5),
                    ..Example::default()
                },
                Example {
                    description: "only zero rows: undefined".into(),
                    decoder: Some(vec![vec![0.0, 0.0]]),
                    expected: None,
                    ..Example::default()
                },
            ],
        }
    }

    fn compute(&self, input: &MetricInput<'_>) -> anyhow::Result<MetricOutput> {
        let dec = input.decoder()?;
        let d = dec.cols;
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
        if live.is_empty() {
            return Ok(MetricOutput::undefined("no non-zero decoder row"));
        }
        let s = overlap(&u, live.len(), d);
        let mut per_latent = input.per_latent.then(|| vec![None; dec.rows]);
        let mut sum = 0.0f64;
        for (&j, &sj) in live.iter().zip(&s) {
            let dj = 1.0 / sj;
            sum += dj;
            if let Some(p) = per_latent.as_mut() {
                p[j] = Some(dj);
            }
        }
        Ok(MetricOutput::Value {
            value: sum / live.len() as f64,
            per_latent,
        })
    }
}

rdpbench_sdk::export_plugin!(metrics: [FeatureDimensionality]);

#[cfg(test)]
mod tests {
    use super::*;
    use rdpbench_core::conditions::{CheckSettings, ConditionId};
    use rdpbench_sdk::testing::{ExampleData, check_examples};

    fn run(decoder: Vec<Vec<f32>>) -> MetricOutput {
        let ex = Example {
            decoder: Some(decoder),
            ..Example::default()
        };
        let data = ExampleData::from_example(&ex).unwrap();
        FeatureDimensionality
            .compute(&data.input(&[Input::Decoder]))
            .unwrap()
    }

    fn rows(n: u32, d: u32) -> Vec<Vec<f32>> {
        (0..n)
            .map(|j| {
                (0..d)
                    .map(|k| ((j * 7 + k * 13 + j * k) % 11) as f32 - 5.0)
                    .collect()
            })
            .collect()
    }

    fn brute(r: &[Vec<f32>]) -> f64 {
        let unit = |x: &Vec<f32>| {
            let n = x.iter().map(|&v| (v as f64).powi(2)).sum::<f64>().sqrt();
            x.iter().map(|&v| v as f64 / n).collect::<Vec<f64>>()
        };
        let u: Vec<Vec<f64>> = r.iter().map(unit).collect();
        u.iter()
            .map(|a| 1.0 / u.iter().map(|b| dot(a, b).powi(2)).sum::<f64>())
            .sum::<f64>()
            / u.len() as f64
    }

    #[test]
    fn declared_examples_hold() {
        assert_eq!(check_examples(&FeatureDimensionality).unwrap(), 4);
    }

    #[test]
    fn both_paths_match_brute_force() {
        for (n, d) in [(70, 5), (6, 40), (40, 40)] {
            let r = rows(n, d);
            let got = run(r.clone()).as_value().unwrap();
            let want = brute(&r);
            assert!((got - want).abs() < 1e-12, "{n}x{d}: {got} vs {want}");
        }
    }

    #[test]
    fn permutation_and_rescaling_do_not_matter() {
        let a = run(rows(70, 5)).as_value().unwrap();
        let mut b = rows(70, 5);
        b.reverse();
        for (j, r) in b.iter_mut().enumerate() {
            let s = if j % 3 == 0 { 0.1 } else { 7.0 };
            r.iter_mut().for_each(|x| *x *= s);
        }
        let b = run(b).as_value().unwrap();
        // Rescaling by 0.1 rounds in f32: agreement to f32 precision.
        assert!((a - b).abs() <= 1e-6 * a, "{a} vs {b}");
        // Permutation alone: f64 rounding only.
        let mut c = rows(70, 5);
        c.reverse();
        let c = run(c).as_value().unwrap();
        assert!((a - c).abs() <= 1e-12 * a, "{a} vs {c}");
    }

    #[test]
    fn single_row_and_empty() {
        assert!((run(vec![vec![0.3, 0.4]]).as_value().unwrap() - 1.0).abs() < 1e-15);
        assert_eq!(run(vec![]).as_value(), None);
    }

    #[test]
    fn passes_permutation_and_definedness_conditions() {
        let report = rdpbench_core::testing::check(
            FeatureDimensionality,
            &CheckSettings {
                conditions: vec!["C3".into(), "C10".into()],
                ..CheckSettings::quick()
            },
        );
        rdpbench_core::testing::assert_passes(&report, &[ConditionId::C3, ConditionId::C10]);
    }
}

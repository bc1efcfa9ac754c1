//! # oracle-p-gt: ground-truth polysemanticity `P_gt`, run as a metric (ORACLE)
//!
//! **Oracle**: reads the true concept directions `V`, which real data does
//! not have. It is the reference the proxy metrics are judged against, run
//! through the plugin interface so that it goes through the same conditions.
//!
//! Formula (`shared/CONDITIONS.md` §2, computed by
//! `rdpbench_core::toy::ground_truth::p_gt` with the default options
//! `τ = 0.05`, residual tolerance `0.25`): for each live latent `j` (fires,
//! i.e. has a non-zero code, on at least one sample) the support `S_j` is the
//! concepts present on at least a fraction `τ` of its firings plus its
//! best-cosine concept; non-negative OMP of `w_j` over `{v_i : i ∈ S_j}` gives
//! `β_j ≥ 0`; `π_ji = β_ji² / Σ_i β_ji²`, `N_eff(j) = 1 / Σ_i π_ji²` and
//!
//! `P_gt = Σ_j f_j (N_eff(j) − 1) / Σ_j f_j`
//!
//! over live *explained* latents (`Σβ > 0`), `f_j` the firing frequency.
//! `0` for a monosemantic SAE; higher = more polysemantic.
//!
//! Inputs: decoder, codes, labels (the toy presences `z`: a sample carrying
//! several labels counts once for each, since the support is a per-concept
//! presence fraction) and concept directions. Dead and unexplained latents get
//! no per-latent score; the per-latent score of an explained latent is
//! `N_eff(j) − 1`. Undefined, with the reason, when no latent is live and
//! explained. Cost `O(nnz(codes) · labels per sample + d_sae · n_concepts ·
//! d_in + d_sae · |S|³)` (the OMP refits NNLS on at most `|S_j|` atoms).
//! `MetricInput::config` is not read: the options are the spec's defaults.
#![deny(unsafe_code)]

use rdpbench_core::toy::ground_truth::{GroundTruthOptions, p_gt};
use rdpbench_sdk::prelude::*;

/// Ground-truth `P_gt` as an oracle metric (see the crate docs).
#[derive(Debug, Default, Clone, Copy)]
pub struct OraclePgt;

const ID: &str = "oracle-p-gt";
const DESCRIPTION: &str = "ORACLE: ground-truth polysemanticity P_gt, the frequency-weighted \
    mean of N_eff − 1 from a non-negative OMP of each decoder row on the true concept directions.";

type Rows = Vec<Vec<f32>>;

fn example(description: &str, io: [Rows; 4], expected: Option<f64>) -> Example {
    let [decoder, codes, labels, directions] = io;
    Example {
        description: description.into(),
        decoder: Some(decoder),
        codes: Some(codes),
        labels: Some(labels),
        concept_directions: Some(directions),
        expected,
        ..Example::default()
    }
}

fn eye(n: usize) -> Rows {
    (0..n)
        .map(|i| (0..n).map(|k| if i == k { 1.0 } else { 0.0 }).collect())
        .collect()
}

impl Metric for OraclePgt {
    fn spec(&self) -> MetricSpec {
        let z3 = vec![
            vec![1.0, 0.0, 0.0],
            vec![0.0, 1.0, 0.0],
            vec![0.0, 0.0, 1.0],
            vec![1.0, 1.0, 0.0],
        ];
        let codes = vec![
            vec![1.0, 0.0],
            vec![1.0, 0.0],
            vec![0.0, 1.0],
            vec![1.0, 0.0],
        ];
        let merged = vec![vec![2.0, 1.0, 0.0], vec![0.0, 0.0, 1.0]];
        MetricSpec {
            id: ID.into(),
            version: "1".into(),
            description: DESCRIPTION.into(),
            citation: "rdpbench shared/CONDITIONS.md §2 (ground truth); oracle".into(),
            orientation: Orientation::HigherIsMorePolysemantic,
            inputs: vec![
                Input::Decoder,
                Input::Codes,
                Input::Labels,
                Input::ConceptDirections,
            ],
            examples: vec![
                example(
                    "decoder = V = I2, each latent fires with its own concept: 0",
                    [eye(2), vec![vec![1.0, 0.0], vec![0.0, 2.0]], eye(2), eye(2)],
                    Some(0.0),
                ),
                example(
                    "w_0 = 2v_0 + v_1 (f = 3/4, both concepts in its support): β = (2, 1), \
                     N_eff = 25/17; w_1 = v_2 (f = 1/4): P_gt = (3/4 · 8/17) / 1 = 6/17",
                    [merged, codes, z3, eye(3)],
                    Some(6.0 / 17.0),
                ),
                example(
                    "no latent fires: undefined",
                    [eye(2), vec![vec![0.0, 0.0]], vec![vec![1.0, 0.0]], eye(2)],
                    None,
                ),
                example(
                    "w = −v_0 fires: no atom correlates positively, unexplained: undefined",
                    [
                        vec![vec![-1.0, 0.0]],
                        vec![vec![1.0]],
                        vec![vec![1.0, 0.0]],
                        eye(2),
                    ],
                    None,
                ),
            ],
        }
    }

    fn compute(&self, input: &MetricInput<'_>) -> anyhow::Result<MetricOutput> {
        let report = p_gt(
            &input.concept_directions()?.to_owned(),
            &input.decoder()?.to_owned(),
            &input.codes()?.to_owned(),
            &input.labels()?.to_owned(),
            &GroundTruthOptions::default(),
        )?;
        let Some(value) = report.p_gt else {
            return Ok(MetricOutput::undefined(if report.n_live == 0 {
                format!("no latent fires on the {} samples", report.n_samples)
            } else {
                format!(
                    "all {} live latents are unexplained (Σβ = 0)",
                    report.n_unexplained
                )
            }));
        };
        let per_latent = report
            .latents
            .iter()
            .map(|l| l.n_eff.map(|n| n - 1.0))
            .collect();
        Ok(MetricOutput::Value {
            value,
            per_latent: Some(per_latent),
        })
    }
}

rdpbench_sdk::export_plugin!(metrics: [OraclePgt]);

#[cfg(test)]
mod tests {
    use super::*;
    use rdpbench_sdk::testing::{ExampleData, check_examples};

    fn run(io: [Rows; 4]) -> MetricOutput {
        let data = ExampleData::from_example(&example("", io, None)).unwrap();
        OraclePgt
            .compute(&data.input(&OraclePgt.spec().inputs))
            .unwrap()
    }

    fn z3() -> Rows {
        OraclePgt.spec().examples[1].labels.clone().unwrap()
    }

    #[test]
    fn declared_examples_hold() {
        assert_eq!(check_examples(&OraclePgt).unwrap(), 4);
    }

    #[test]
    fn permutation_rescaling_and_dead_padding_do_not_matter() {
        // Example 1 with the latents swapped, rows rescaled by 3 and 0.5 (codes
        // by the inverse), and a dead latent appended.
        let dec = vec![
            vec![0.0, 0.0, 3.0],
            vec![1.0, 0.5, 0.0],
            vec![1.0, 1.0, 1.0],
        ];
        let codes = vec![
            vec![0.0, 2.0, 0.0],
            vec![0.0, 2.0, 0.0],
            vec![1.0 / 3.0, 0.0, 0.0],
            vec![0.0, 2.0, 0.0],
        ];
        let MetricOutput::Value { value, per_latent } = run([dec, codes, z3(), eye(3)]) else {
            panic!("undefined")
        };
        assert!((value - 6.0 / 17.0).abs() < 1e-12, "{value}");
        let p = per_latent.unwrap();
        assert!(p[0].unwrap().abs() < 1e-12);
        assert!((p[1].unwrap() - 8.0 / 17.0).abs() < 1e-12);
        assert_eq!(p[2], None);
    }

    #[test]
    fn equal_merge_gives_one_and_rare_concept_leaves_support() {
        // w = v_0 + v_1 fires on 2 samples with one concept each: N_eff = 2.
        let dec = vec![vec![1.0, 1.0]];
        let two = run([dec.clone(), vec![vec![1.0]; 2], eye(2), eye(2)]);
        assert!((two.as_value().unwrap() - 1.0).abs() < 1e-12);
        // Concept 1 on 1 of 21 firings (< τ = 5%): support {0}, N_eff = 1.
        let mut z = vec![vec![1.0, 0.0]; 21];
        z[0][1] = 1.0;
        let one = run([dec, vec![vec![1.0]; 21], z, eye(2)]);
        assert!(one.as_value().unwrap().abs() < 1e-12);
    }
}

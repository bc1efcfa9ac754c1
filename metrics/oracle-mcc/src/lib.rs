//! # oracle-mcc: Hungarian-matched mean |cos| to the true directions (ORACLE)
//!
//! **Oracle**: reads the true concept directions `V`, which real data does
//! not have; a recovery score from the identifiability / toy-SAE literature
//! (MCC as in Khemakhem et al. 2020; SynthSAEBench), computed by
//! `rdpbench_core::toy::recovery::recovery_scores`.
//!
//! With the live latents `L` (non-zero code on at least one sample) and
//! `A_ji = |cos(w_j, v_i)|` (0 for a zero row), a maximum-weight one-to-one
//! matching `σ` of live latents to concepts (Hungarian) gives
//!
//! `MCC = Σ_{j ∈ L matched} A_{j σ(j)} / n_concepts`,
//!
//! so a concept no live latent is matched to counts 0 and an SAE that merges
//! concepts cannot reach 1. Orientation: higher MCC = better recovery = LESS
//! polysemantic.
//!
//! Inputs: decoder, codes, labels (read only through the core's firing
//! statistics, which MCC does not use) and concept directions. Dead latents
//! are excluded before the matching and get no per-latent score; a live
//! latent's per-latent score is `A_{j σ(j)}`, its contribution to the sum, and
//! 0 when it is left unmatched (more live latents than concepts). Undefined
//! when no latent is live or there is no concept. Cost `O(d_sae · n_concepts
//! · d_in)` for `A` plus the Hungarian matching, `O(n³)` in
//! `n = max(|L|, n_concepts)`.
#![deny(unsafe_code)]

use rdpbench_core::linalg::{dot_f32, norm_f32};
use rdpbench_core::toy::recovery::recovery_scores;
use rdpbench_sdk::prelude::*;

/// Oracle MCC (see the crate docs).
#[derive(Debug, Default, Clone, Copy)]
pub struct OracleMcc;

const ID: &str = "oracle-mcc";
const DESCRIPTION: &str = "ORACLE: mean |cosine| between live decoder rows and the true concept \
    directions under a one-to-one Hungarian matching, unmatched concepts counting 0.";

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

/// `|cos(w, v)|` exactly as the core computes `A_ji`.
fn abs_cos(w: &[f32], v: &[f32]) -> f64 {
    let den = norm_f32(w) * norm_f32(v);
    if den > 0.0 && den.is_finite() {
        (dot_f32(w, v) / den).abs()
    } else {
        0.0
    }
}

impl Metric for OracleMcc {
    fn spec(&self) -> MetricSpec {
        let z2 = vec![vec![1.0, 0.0], vec![0.0, 1.0]];
        MetricSpec {
            id: ID.into(),
            version: "1".into(),
            description: DESCRIPTION.into(),
            citation: "MCC of Khemakhem et al. 2020 (iVAE) as used for toy SAEs \
                       (SynthSAEBench); rdpbench shared/CONDITIONS.md §2; oracle"
                .into(),
            orientation: Orientation::HigherIsLessPolysemantic,
            inputs: vec![
                Input::Decoder,
                Input::Codes,
                Input::Labels,
                Input::ConceptDirections,
            ],
            examples: vec![
                example(
                    "decoder = V = I2, both latents live: 1",
                    [eye(2), eye(2), z2.clone(), eye(2)],
                    Some(1.0),
                ),
                example(
                    "live w = (4,3,0), dead e_2, V = I3: 0.8 matched over 3 concepts",
                    [
                        vec![vec![4.0, 3.0, 0.0], vec![0.0, 0.0, 1.0]],
                        vec![vec![1.0, 0.0], vec![1.0, 0.0]],
                        vec![vec![1.0, 0.0, 0.0], vec![0.0, 1.0, 0.0]],
                        eye(3),
                    ],
                    Some(0.8 / 3.0),
                ),
                example(
                    "w = (1,0), (4,3): both nearest v_0, matching gives (1 + 0.6) / 2",
                    [
                        vec![vec![1.0, 0.0], vec![4.0, 3.0]],
                        vec![vec![1.0, 1.0], vec![0.0, 1.0]],
                        z2.clone(),
                        eye(2),
                    ],
                    Some(0.8),
                ),
                example(
                    "no latent fires: undefined",
                    [eye(2), vec![vec![0.0, 0.0]], vec![vec![1.0, 0.0]], eye(2)],
                    None,
                ),
            ],
        }
    }

    fn compute(&self, input: &MetricInput<'_>) -> anyhow::Result<MetricOutput> {
        let dec = input.decoder()?.to_owned();
        let v = input.concept_directions()?.to_owned();
        let scores = recovery_scores(
            &v,
            &dec,
            &input.codes()?.to_owned(),
            &input.labels()?.to_owned(),
        )?;
        let Some(mcc) = scores.mcc else {
            return Ok(MetricOutput::undefined(format!(
                "{} live latents, {} concepts: nothing to match",
                scores.n_live, v.rows
            )));
        };
        let mut per_latent = vec![None; dec.rows];
        for l in &scores.latents {
            per_latent[l.latent] = Some(
                l.hungarian_concept
                    .map_or(0.0, |i| abs_cos(dec.row(l.latent), v.row(i))),
            );
        }
        Ok(MetricOutput::Value {
            value: mcc,
            per_latent: Some(per_latent),
        })
    }
}

rdpbench_sdk::export_plugin!(metrics: [OracleMcc]);

#[cfg(test)]
mod tests {
    use super::*;
    use rdpbench_sdk::testing::{ExampleData, check_examples};

    fn run(io: [Rows; 4]) -> MetricOutput {
        let data = ExampleData::from_example(&example("", io, None)).unwrap();
        OracleMcc
            .compute(&data.input(&OracleMcc.spec().inputs))
            .unwrap()
    }

    fn value_and_latents(out: MetricOutput) -> (f64, Vec<Option<f64>>) {
        match out {
            MetricOutput::Value { value, per_latent } => (value, per_latent.unwrap()),
            MetricOutput::Undefined { reason } => panic!("undefined: {reason}"),
        }
    }

    #[test]
    fn declared_examples_hold() {
        assert_eq!(check_examples(&OracleMcc).unwrap(), 4);
    }

    #[test]
    fn permutation_and_rescaling_do_not_matter() {
        let v = vec![
            vec![1.0, 0.0, 0.0],
            vec![0.0, 0.6, 0.8],
            vec![0.0, 0.8, -0.6],
        ];
        let dec = vec![
            vec![0.9, 0.1, 0.2],
            vec![0.1, 0.7, 0.5],
            vec![0.3, 0.4, -0.6],
        ];
        let codes = vec![vec![1.0, 2.0, 0.5]];
        let z = vec![vec![1.0, 1.0, 1.0]];
        let (a, _) = value_and_latents(run([dec.clone(), codes.clone(), z.clone(), v.clone()]));
        // Latents in reverse order, rows rescaled by 2, −0.5 and 7 (|cos| ignores sign).
        let scaled: Rows = dec
            .iter()
            .rev()
            .zip([2.0, -0.5, 7.0])
            .map(|(r, s)| r.iter().map(|x| x * s).collect())
            .collect();
        let (b, _) = value_and_latents(run([scaled, codes, z, v]));
        assert!((a - b).abs() <= 1e-6 * a.abs(), "{a} vs {b}");
    }

    #[test]
    fn zero_rows_and_surplus_latents_score_zero() {
        // A live zero row matches nothing useful: (1 + 0) / 2.
        let out = run([vec![vec![1.0, 0.0], vec![0.0, 0.0]], eye(2), eye(2), eye(2)]);
        assert_eq!(value_and_latents(out), (0.5, vec![Some(1.0), Some(0.0)]));
        // Two live latents, one concept: the surplus latent is unmatched (0)
        // and MCC does not penalize it.
        let out = run([
            vec![vec![1.0, 0.0], vec![0.6, 0.8]],
            vec![vec![1.0, 1.0]],
            vec![vec![1.0]],
            vec![vec![1.0, 0.0]],
        ]);
        assert_eq!(value_and_latents(out), (1.0, vec![Some(1.0), Some(0.0)]));
    }
}

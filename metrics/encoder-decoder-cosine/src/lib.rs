//! # encoder-decoder-cosine: does each latent read the direction it writes?
//!
//! SAEBench core (Karvonen et al. 2025) reports the cosine similarity between
//! a latent's encoder vector and its decoder vector. With `e_j = W_enc[:, j]`
//! (`W_enc: [d_in, d_sae]`), `w_j = W_dec[j, :]` and the live latents
//! `L = {j : ‖e_j‖ > 0, ‖w_j‖ > 0}`:
//!
//! `c_j = ⟨e_j, w_j⟩ / (‖e_j‖ ‖w_j‖)`,   `score = (1/|L|) Σ_{j ∈ L} c_j`.
//!
//! The hypothesis it encodes: a monosemantic latent in a clean basis reads
//! exactly the direction it writes (`c_j = 1` for a tied, orthonormal
//! dictionary); an encoder that must tilt away from its decoder row is
//! suppressing interference from other features (superposition, absorption:
//! Chanin et al. 2024 observe absorbing latents' encoders carving out the
//! absorbed child), so lower = more polysemantic. Orientation: higher =
//! *less* polysemantic.
//!
//! Reads the encoder and decoder only, so it sees no data: co-occurrence and
//! density cannot move it. A zero encoder column or decoder row (a padded
//! dead latent has a zero encoder column) has no direction: excluded, no
//! per-latent score. Undefined when no latent has both. Exactly invariant to
//! positive per-latent rescaling (encoder × s, decoder ÷ s) and to rotations
//! of the observation space. Cost `O(d_sae · d_in)` time with `f64`
//! accumulation, `O(d_sae)` extra memory; fixed loop order.
#![deny(unsafe_code)]

use rdpbench_sdk::prelude::*;

/// Mean encoder/decoder cosine (see the crate docs).
#[derive(Debug, Default, Clone, Copy)]
pub struct EncoderDecoderCosine;

const ID: &str = "encoder-decoder-cosine";
const DESCRIPTION: &str = "Mean over latents of the cosine between the latent's encoder column \
    and its decoder row.";

impl Metric for EncoderDecoderCosine {
    fn spec(&self) -> MetricSpec {
        MetricSpec {
            id: ID.into(),
            version: "1".into(),
            description: DESCRIPTION.into(),
            citation: "SAEBench core eval (Karvonen et al. 2025): encoder-decoder cosine \
                       similarity"
                .into(),
            orientation: Orientation::HigherIsLessPolysemantic,
            inputs: vec![Input::Decoder, Input::Encoder],
            examples: vec![
                Example {
                    description: "W_enc = W_decᵀ: every cosine is 1".into(),
                    decoder: Some(vec![vec![1.0, 0.0, 0.0], vec![0.0, 2.0, 1.0]]),
                    encoder: Some(vec![vec![1.0, 0.0], vec![0.0, 2.0], vec![0.0, 1.0]]),
                    expected: Some(1.0),
                    ..Example::default()
                },
                Example {
                    description: "e = (1,0), (0,1), 0; w = (1,0), (1,1), (0,1): cosines 1, 1/√2, \
                                  and a dead latent → (1 + 1/√2)/2"
                        .into(),
                    decoder: Some(vec![vec![1.0, 0.0], vec![1.0, 1.0], vec![0.0, 1.0]]),
                    encoder: Some(vec![vec![3.0, 0.0, 0.0], vec![0.0, 0.5, 0.0]]),
                    expected: Some((1.0 + std::f64::consts::FRAC_1_SQRT_2) / 2.0),
                    ..Example::default()
                },
                Example {
                    description: "encoder all zero: undefined".into(),
                    decoder: Some(vec![vec![1.0, 0.0]]),
                    encoder: Some(vec![vec![0.0], vec![0.0]]),
                    expected: None,
                    ..Example::default()
                },
            ],
        }
    }

    fn compute(&self, input: &MetricInput<'_>) -> anyhow::Result<MetricOutput> {
        let dec = input.decoder()?;
        let enc = input.encoder()?;
        ensure!(
            enc.rows == dec.cols && enc.cols == dec.rows,
            "encoder is [{}, {}] but decoder is [{}, {}]: expected encoder [d_in, d_sae]",
            enc.rows,
            enc.cols,
            dec.rows,
            dec.cols
        );
        let (f, d) = (dec.rows, dec.cols);
        let mut dot = vec![0.0f64; f];
        let mut ee = vec![0.0f64; f];
        // Encoder rows are contiguous over latents: stream them once.
        for i in 0..d {
            for (j, &e) in enc.row(i).iter().enumerate() {
                let e = e as f64;
                dot[j] += e * dec.get(j, i) as f64;
                ee[j] += e * e;
            }
        }
        let mut per_latent = vec![None; f];
        let (mut sum, mut k) = (0.0f64, 0usize);
        for j in 0..f {
            let ww: f64 = dec.row(j).iter().map(|&w| w as f64 * w as f64).sum();
            let norm = (ee[j] * ww).sqrt();
            if norm > 0.0 && norm.is_finite() {
                let c = (dot[j] / norm).clamp(-1.0, 1.0);
                per_latent[j] = Some(c);
                sum += c;
                k += 1;
            }
        }
        if k == 0 {
            return Ok(MetricOutput::undefined(
                "no latent has both a non-zero encoder column and a non-zero decoder row",
            ));
        }
        Ok(MetricOutput::Value {
            value: sum / k as f64,
            per_latent: input.per_latent.then_some(per_latent),
        })
    }
}

rdpbench_sdk::export_plugin!(metrics: [EncoderDecoderCosine]);

#[cfg(test)]
mod tests {
    use super::*;
    use rdpbench_core::conditions::{CheckSettings, ConditionId};
    use rdpbench_sdk::testing::{ExampleData, check_examples};

    fn run(decoder: Vec<Vec<f32>>, encoder: Vec<Vec<f32>>) -> MetricOutput {
        let ex = Example {
            decoder: Some(decoder),
            encoder: Some(encoder),
            ..Example::default()
        };
        let data = ExampleData::from_example(&ex).unwrap();
        EncoderDecoderCosine
            .compute(&data.input(&[Input::Decoder, Input::Encoder]))
            .unwrap()
    }

    fn weights() -> (Vec<Vec<f32>>, Vec<Vec<f32>>) {
        let h = |a: usize, b: usize| ((a * 31 + b * 17) % 13) as f32 - 6.0;
        let dec: Vec<Vec<f32>> = (0..6).map(|j| (0..4).map(|i| h(j, i)).collect()).collect();
        let enc: Vec<Vec<f32>> = (0..4)
            .map(|i| (0..6).map(|j| dec[j][i] + h(i + 7, j) / 5.0).collect())
            .collect();
        (dec, enc)
    }

    #[test]
    fn declared_examples_hold() {
        assert_eq!(check_examples(&EncoderDecoderCosine).unwrap(), 3);
    }

    #[test]
    fn permutation_and_rescaling_do_not_matter() {
        let (dec, enc) = weights();
        let a = run(dec.clone(), enc.clone()).as_value().unwrap();
        let perm = [5usize, 2, 0, 4, 1, 3];
        let s = [0.1f32, 4.0, 2.5, 0.3, 9.0, 1.0];
        let dec2: Vec<Vec<f32>> = perm
            .iter()
            .enumerate()
            .map(|(k, &j)| dec[j].iter().map(|w| w / s[k]).collect())
            .collect();
        let enc2: Vec<Vec<f32>> = enc
            .iter()
            .map(|r| perm.iter().enumerate().map(|(k, &j)| r[j] * s[k]).collect())
            .collect();
        let b = run(dec2, enc2).as_value().unwrap();
        assert!((a - b).abs() <= 1e-6, "{a} vs {b}");
        assert_eq!(run(dec, enc).as_value().unwrap().to_bits(), a.to_bits());
    }

    #[test]
    fn antiparallel_latent_scores_minus_one_and_shapes_are_checked() {
        let out = run(vec![vec![1.0, 1.0]], vec![vec![-2.0], vec![-2.0]]);
        assert!((out.as_value().unwrap() + 1.0).abs() < 1e-15);
        let ex = Example {
            decoder: Some(vec![vec![1.0, 0.0]]),
            encoder: Some(vec![vec![1.0, 0.0]]),
            ..Example::default()
        };
        let data = ExampleData::from_example(&ex).unwrap();
        assert!(
            EncoderDecoderCosine
                .compute(&data.input(&[Input::Decoder, Input::Encoder]))
                .is_err()
        );
    }

    #[test]
    fn passes_permutation_and_definedness_conditions() {
        let report = rdpbench_core::testing::check(
            EncoderDecoderCosine,
            &CheckSettings {
                conditions: vec!["C3".into(), "C10".into()],
                ..CheckSettings::quick()
            },
        );
        rdpbench_core::testing::assert_passes(&report, &[ConditionId::C3, ConditionId::C10]);
    }
}

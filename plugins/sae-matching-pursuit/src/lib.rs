//! Matching-pursuit SAE (Costa et al. 2025, "From Flat to Hierarchical";
//! SAELens 6.x `matching_pursuit`): the encoder of SAELens folders.
//!
//! A tied SAE: the folder holds `W_dec [d_sae, d_in]` and `b_dec [d_in]`
//! only. Encoding one row `x` (as SAELens's `_encode_matching_pursuit`):
//! `r ← x − b_dec`, `f ← 0`; then up to `max_iterations` times (`null`:
//! `d_in`):
//! - `j* = argmax_j ReLU(⟨r, W_dec,j⟩)` (the first index on ties),
//! - `v = ReLU(⟨r, W_dec,j*⟩)`, `f_{j*} += v`, `r ← r − v W_dec,j*`,
//! - stop when `stop_on_duplicate_support` and the support of `f` did not
//!   change, or when `residual_threshold > 0` and `‖r‖ < residual_threshold`.
//!
//! Decoding is `x̂ = f W_dec + b_dec` when `apply_b_dec_to_input`, else
//! `f W_dec` (declared as a decode rule; the host applies it). Dot products
//! accumulate in `f64`; the residual is kept in `f32`, as SAELens keeps it.
//!
//! rdpbench does not train matching-pursuit SAEs: `train` returns an error.

use rdpbench_sdk::sae::{
    Dim, SaeSpec, SaelensCfgField, SaelensDecode, SaelensInterop, SaelensTensor, ValueRange,
    ValueType,
};
use rdpbench_sdk::{CsrMatrix, MatrixView, SaeArchitecture, SaeWeights, TrainRequest};

const RESIDUAL_THRESHOLD: &str = "residual_threshold";
const MAX_ITERATIONS: &str = "max_iterations";
const STOP_ON_DUPLICATE_SUPPORT: &str = "stop_on_duplicate_support";
const APPLY_B_DEC_TO_INPUT: &str = "apply_b_dec_to_input";

/// The matching-pursuit encoder.
#[derive(Debug, Clone, Copy, Default)]
pub struct MatchingPursuit;

/// The stopping rules of one folder, from its `cfg.json`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stopping {
    pub residual_threshold: f32,
    /// `None`: `d_in` iterations at most.
    pub max_iterations: Option<usize>,
    pub stop_on_duplicate_support: bool,
}

impl Stopping {
    /// Reads the fields (SAELens's defaults when absent: `1e-2`, `null`,
    /// `true`); an error names a field of the wrong type.
    pub fn from_cfg(cfg: &serde_json::Value) -> anyhow::Result<Self> {
        let interop = MatchingPursuit.spec().saelens;
        let field = |name: &str| {
            interop
                .cfg_field(name)
                .expect("declared")
                .value_in(cfg)
                .map_err(|e| anyhow::anyhow!("cfg.json: {e}"))
        };
        let threshold = field(RESIDUAL_THRESHOLD)?;
        let iterations = field(MAX_ITERATIONS)?;
        Ok(Self {
            residual_threshold: threshold.as_f64().expect("checked number") as f32,
            max_iterations: iterations.as_u64().map(|n| n as usize),
            stop_on_duplicate_support: interop.cfg_bool(cfg, STOP_ON_DUPLICATE_SUPPORT)?,
        })
    }
}

fn dot(a: &[f32], b: &[f32]) -> f64 {
    a.iter().zip(b).map(|(x, y)| *x as f64 * *y as f64).sum()
}

/// Codes of one centred row `r` (consumed as the residual) into `acts`
/// (`[d_sae]`, zero on entry); returns the touched latents.
pub fn encode_row(
    mut residual: Vec<f32>,
    w_dec: &[f32],
    d_sae: usize,
    stop: Stopping,
    acts: &mut [f32],
) -> Vec<u32> {
    let d_in = residual.len();
    let iterations = stop.max_iterations.unwrap_or(d_in);
    let mut touched = Vec::new();
    for _ in 0..iterations {
        let mut best = (0usize, f64::NEG_INFINITY);
        for j in 0..d_sae {
            let s = dot(&residual, &w_dec[j * d_in..(j + 1) * d_in]).max(0.0);
            if s > best.1 {
                best = (j, s);
            }
        }
        let j = best.0;
        let row = &w_dec[j * d_in..(j + 1) * d_in];
        let v = (dot(&residual, row).max(0.0)) as f32;
        let was_zero = acts[j] == 0.0;
        acts[j] += v;
        if was_zero && acts[j] != 0.0 {
            touched.push(j as u32);
        }
        for (r, w) in residual.iter_mut().zip(row) {
            *r -= v * w;
        }
        let support_changed = was_zero && acts[j] != 0.0;
        let mut done = stop.stop_on_duplicate_support && !support_changed;
        if stop.residual_threshold > 0.0 {
            let norm = dot(&residual, &residual).sqrt() as f32;
            done |= norm < stop.residual_threshold;
        }
        if done {
            break;
        }
    }
    touched.sort_unstable();
    touched
}

impl SaeArchitecture for MatchingPursuit {
    fn spec(&self) -> SaeSpec {
        SaeSpec {
            id: "matching-pursuit".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            description: "Matching-pursuit SAE (tied, greedy residual encoder): encodes SAELens `matching_pursuit` folders; not trainable here".into(),
            citation: "Costa et al. 2025, From Flat to Hierarchical: Extracting Sparse Representations with Matching Pursuit".into(),
            saelens_architecture: "matching_pursuit".into(),
            saelens: SaelensInterop {
                loads: vec!["matching_pursuit".into()],
                tensors: vec![
                    SaelensTensor::new("W_dec", &[Dim::DSae, Dim::DIn]),
                    SaelensTensor::new("b_dec", &[Dim::DIn]),
                ],
                cfg_fields: vec![
                    SaelensCfgField::new(
                        RESIDUAL_THRESHOLD,
                        ValueType::Float,
                        "stop when the residual norm falls below it (0: never)",
                    )
                    .or_default(1e-2),
                    SaelensCfgField {
                        range: Some(ValueRange {
                            min: Some(0.0),
                            ..ValueRange::default()
                        }),
                        ..SaelensCfgField::new(
                            MAX_ITERATIONS,
                            ValueType::Int,
                            "most latents selected per row (null: d_in)",
                        )
                        .or_default(serde_json::Value::Null)
                    },
                    SaelensCfgField::new(
                        STOP_ON_DUPLICATE_SUPPORT,
                        ValueType::Bool,
                        "stop when an iteration adds no latent to the support",
                    )
                    .or_default(true),
                    SaelensCfgField::new(
                        APPLY_B_DEC_TO_INPUT,
                        ValueType::Bool,
                        "subtract b_dec from the input, and add it to the reconstruction",
                    )
                    .or_default(true),
                ],
                decode: SaelensDecode {
                    divide_by_decoder_norm_when: None,
                    b_dec_only_when: Some(APPLY_B_DEC_TO_INPUT.into()),
                },
            },
            ..SaeSpec::default()
        }
    }

    fn train(&self, _request: TrainRequest<'_>) -> anyhow::Result<SaeWeights> {
        anyhow::bail!(
            "`matching-pursuit` encodes SAELens `matching_pursuit` folders; rdpbench does not train it"
        )
    }

    fn encode(&self, weights: &SaeWeights, x: MatrixView<'_>) -> anyhow::Result<CsrMatrix> {
        let cfg: serde_json::Value = serde_json::from_str(&weights.cfg_json)
            .map_err(|e| anyhow::anyhow!("cfg.json is not valid JSON: {e}"))?;
        let stop = Stopping::from_cfg(&cfg)?;
        let w_dec = weights.tensor("W_dec")?;
        let b_dec = &weights.tensor("b_dec")?.data;
        anyhow::ensure!(
            w_dec.shape.len() == 2 && w_dec.shape[1] == x.cols && b_dec.len() == x.cols,
            "W_dec {:?} and b_dec [{}] do not fit inputs with d_in = {}",
            w_dec.shape,
            b_dec.len(),
            x.cols
        );
        let d_sae = w_dec.shape[0];
        let mut out = CsrMatrix::with_cols(d_sae);
        let mut acts = vec![0f32; d_sae];
        for r in 0..x.rows {
            let row = &x.data[r * x.cols..(r + 1) * x.cols];
            let centred: Vec<f32> = row.iter().zip(b_dec).map(|(v, b)| v - b).collect();
            let touched = encode_row(centred, &w_dec.data, d_sae, stop, &mut acts);
            out.push_row(touched.iter().map(|&j| (j, acts[j as usize])));
            for &j in &touched {
                acts[j as usize] = 0.0;
            }
        }
        Ok(out)
    }
}

rdpbench_sdk::export_plugin!(saes: [MatchingPursuit]);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_is_valid() {
        MatchingPursuit.spec().validate().unwrap();
    }

    /// Orthonormal dictionary e1, e2 and x = (3, 2): the first pick is e1
    /// with 3, the second e2 with 2, the residual is then 0 (< 1e-2), stop.
    #[test]
    fn hand_computed_pursuit() {
        let w_dec = [1.0, 0.0, 0.0, 1.0, 0.6, 0.8];
        let stop = Stopping {
            residual_threshold: 1e-2,
            max_iterations: None,
            stop_on_duplicate_support: true,
        };
        let mut acts = vec![0.0; 3];
        let touched = encode_row(vec![3.0, 2.0], &w_dec, 3, stop, &mut acts);
        // Scores: e1 3, e2 2, (0.6, 0.8) 3.4: the third atom first:
        // v = 3.4, r = (3, 2) − 3.4 (0.6, 0.8) = (0.96, −0.72); then e1 with
        // 0.96, r = (0, −0.72); then no positive score: v = 0, support
        // unchanged, stop.
        assert_eq!(touched, vec![0, 2]);
        assert!((acts[2] - 3.4).abs() < 1e-6 && (acts[0] - 0.96).abs() < 1e-6);
        assert_eq!(acts[1], 0.0);
        // One iteration only.
        let mut acts = vec![0.0; 3];
        let one = Stopping {
            max_iterations: Some(1),
            ..stop
        };
        assert_eq!(
            encode_row(vec![3.0, 2.0], &w_dec, 3, one, &mut acts),
            vec![2]
        );
    }

    #[test]
    fn defaults_and_null_iterations_follow_saelens() {
        let s = Stopping::from_cfg(&serde_json::json!({"max_iterations": null})).unwrap();
        assert_eq!(
            s,
            Stopping {
                residual_threshold: 1e-2,
                max_iterations: None,
                stop_on_duplicate_support: true
            }
        );
        let e = Stopping::from_cfg(&serde_json::json!({"max_iterations": "3"})).unwrap_err();
        assert!(e.to_string().contains("max_iterations"), "{e}");
    }
}

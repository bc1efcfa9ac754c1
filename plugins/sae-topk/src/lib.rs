//! TopK SAE (Gao et al. 2024; SAELens `topk`), and the encoder of SAELens
//! `abstopk` folders (Zhu et al. 2025, AbsTopK).
//!
//! `z = ReLU((x − b_dec) W_enc + b_enc)`, `f = TopK_k(z)` per row,
//! `x̂ = f W_dec + b_dec`; loss `E‖x − x̂‖²` plus the SDK's AuxK term on dead
//! latents. `cfg.json` carries `k`.
//!
//! Loading SAELens folders (inference, as SAELens 6.x's `TopKSAE.encode`):
//! with `π = (x − b_dec) W_enc + b_enc` `[n, d_sae]`,
//! - `rescale_acts_by_decoder_norm: true`: `π_j ← π_j ‖W_dec,j‖` before the
//!   selection, and the decoder divides code `j` by `‖W_dec,j‖` again
//!   (declared as a decode rule, applied by the host);
//! - `topk`: `f` keeps the `k` largest `π_j` of each row, then `ReLU`;
//! - `abstopk`: `f` keeps the `k` entries of largest `|π_j|`, signed (codes
//!   may be negative; SAELens counts them in L0 by `f ≠ 0`).

use rdpbench_sdk::sae::{
    Hyperparameter, SaeSpec, SaelensCfgField, SaelensDecode, SaelensInterop, ValueRange, ValueType,
};
use rdpbench_train::candle_core::{D, Result, Tensor};
use rdpbench_train::sparse_step::{Selection, SparseTraining};
use rdpbench_train::{
    Architecture, Forward, Params, StepContext, TrainConfig, cfg_usize, decode_sparse, ops,
    pre_activation, relu_pre_activation,
};

/// SAELens's cfg.json switch for decoder-norm rescaling (default `false`).
const RESCALE: &str = "rescale_acts_by_decoder_norm";
/// The SAELens architecture whose selection is by magnitude, signed.
const ABS_TOPK: &str = "abstopk";

/// The values a row's top-`k` is taken of, `[n, d_sae]`, with `k` and
/// whether the selection is by magnitude (see the crate docs): `ReLU(π)`
/// (TopK) or `π` (AbsTopK), times `‖W_dec,j‖` under
/// `rescale_acts_by_decoder_norm`.
fn selection_values(
    w: &Params,
    x: &Tensor,
    cfg: &serde_json::Value,
) -> anyhow::Result<(Tensor, usize, bool)> {
    let k = cfg_usize(cfg, "k")?;
    let rescale = match cfg.get(RESCALE) {
        None => false,
        Some(v) => v
            .as_bool()
            .ok_or_else(|| anyhow::anyhow!("cfg.json: field `{RESCALE}` = {v} is not a boolean"))?,
    };
    let by_magnitude = cfg.get("architecture").and_then(|a| a.as_str()) == Some(ABS_TOPK);
    let (w_enc, b_enc, b_dec) = (w.get("W_enc")?, w.get("b_enc")?, w.get("b_dec")?);
    let mut v = if by_magnitude {
        pre_activation(w_enc, b_enc, b_dec, x)?
    } else {
        relu_pre_activation(w_enc, b_enc, b_dec, x)?
    };
    if rescale {
        // ReLU(π)·‖W_dec,j‖ = ReLU(π·‖W_dec,j‖): the norms are positive.
        let norms = w.get("W_dec")?.sqr()?.sum(D::Minus1)?.sqrt()?;
        v = v.broadcast_mul(&norms)?;
    }
    Ok((v, k, by_magnitude))
}

/// The TopK architecture.
#[derive(Debug, Clone, Copy, Default)]
pub struct TopK;

impl Architecture for TopK {
    fn spec(&self) -> SaeSpec {
        let d = TrainConfig::default();
        let hyperparameters = vec![
            Hyperparameter::new(
                "k",
                ValueType::Int,
                d.k_per_row(),
                "active latents per row (at most d_sae)",
            )
            .min(1.0)
            .at_most("d_sae"),
            Hyperparameter::new(
                "aux_k",
                ValueType::Int,
                d.aux_k,
                "k of the AuxK loss on dead latents (0: d_in / 2)",
            )
            .min(0.0),
            Hyperparameter::new(
                "aux_k_coefficient",
                ValueType::Float,
                d.aux_k_coefficient,
                "weight of the AuxK loss",
            )
            .min(0.0),
        ];
        SaeSpec {
            id: "topk".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            description: "TopK SAE: exactly k active latents per row, AuxK loss on dead latents"
                .into(),
            citation: "Gao et al. 2024, Scaling and evaluating sparse autoencoders".into(),
            saelens_architecture: "topk".into(),
            default_hyperparameters: Hyperparameter::defaults(&hyperparameters),
            hyperparameters,
            sparsity_knob: Some("k".into()),
            saelens: SaelensInterop {
                loads: vec!["topk".into(), ABS_TOPK.into()],
                tensors: SaelensInterop::standard_tensors(),
                cfg_fields: vec![
                    SaelensCfgField {
                        name: "k".into(),
                        kind: ValueType::Int,
                        range: Some(ValueRange {
                            min: Some(1.0),
                            ..ValueRange::default()
                        }),
                        at_most: Some("d_sae".into()),
                        description: "active latents per row at inference".into(),
                        default: None,
                    },
                    SaelensCfgField::new(
                        RESCALE,
                        ValueType::Bool,
                        "select on pre-activations times decoder norms; decode divides by them",
                    )
                    .or_default(false),
                ],
                decode: SaelensDecode {
                    divide_by_decoder_norm_when: Some(RESCALE.into()),
                    b_dec_only_when: None,
                },
            },
        }
    }

    fn forward(&self, p: &Params, x: &Tensor, ctx: &mut StepContext<'_>) -> Result<Forward> {
        let b_dec = p.get("b_dec")?;
        let z = relu_pre_activation(p.get("W_enc")?, p.get("b_enc")?, b_dec, x)?;
        let codes = (&z * ops::topk_mask(&z, ctx.config.k_per_row())?)?;
        let x_hat = decode_sparse(&codes, p.get("W_dec")?, b_dec)?;
        Ok(Forward {
            codes,
            x_hat,
            losses: Vec::new(),
            aux_pre_acts: Some(z),
        })
    }

    fn sparse_training(&self, config: &TrainConfig) -> Option<SparseTraining> {
        Some(SparseTraining {
            selection: Selection::TopK {
                k: config.k_per_row(),
            },
            prefixes: Vec::new(),
        })
    }

    fn encode(&self, w: &Params, x: &Tensor, cfg: &serde_json::Value) -> anyhow::Result<Tensor> {
        let (values, k, by_magnitude) = selection_values(w, x, cfg)?;
        let key = if by_magnitude {
            values.abs()?
        } else {
            values.clone()
        };
        Ok((&values * ops::topk_mask(&key, k)?)?)
    }

    fn encode_csr(
        &self,
        w: &Params,
        x: &Tensor,
        cfg: &serde_json::Value,
    ) -> anyhow::Result<Option<rdpbench_sdk::CsrMatrix>> {
        let (values, k, by_magnitude) = selection_values(w, x, cfg)?;
        let (b, n) = values.dims2()?;
        Ok(Some(ops::with_f32_values(&values, |data| {
            ops::topk_rows_csr(data, b, n, k, by_magnitude)
        })?))
    }

    fn cfg_fields(&self, config: &TrainConfig) -> serde_json::Map<String, serde_json::Value> {
        let mut m = serde_json::Map::new();
        m.insert("k".into(), config.k_per_row().into());
        m
    }
}

rdpbench_sdk::export_plugin!(saes: [rdpbench_train::CandleSae(TopK)]);

#[cfg(test)]
mod tests {
    use super::*;
    use rdpbench_train::candle_core::Device;

    /// The CSR fast path equals the dense `encode` for TopK, rescaled TopK
    /// and AbsTopK, including a row where ReLU leaves fewer than `k`
    /// positives (the selection then ties at 0).
    #[test]
    fn csr_path_equals_dense_encode() {
        let dev = Device::Cpu;
        let (d_in, d_sae, n) = (3, 7, 5);
        let f = |len: usize, s: f32| -> Vec<f32> {
            (0..len).map(|i| ((i * 37 % 11) as f32 - 5.0) * s).collect()
        };
        let mut p = Params::default();
        p.insert(
            "W_enc",
            Tensor::from_vec(f(d_in * d_sae, 0.3), (d_in, d_sae), &dev).unwrap(),
        );
        p.insert(
            "b_enc",
            Tensor::from_vec(f(d_sae, 0.1), d_sae, &dev).unwrap(),
        );
        p.insert(
            "W_dec",
            Tensor::from_vec(f(d_sae * d_in, 0.2), (d_sae, d_in), &dev).unwrap(),
        );
        p.insert(
            "b_dec",
            Tensor::zeros(d_in, rdpbench_train::candle_core::DType::F32, &dev).unwrap(),
        );
        let mut xs = f(n * d_in, 0.5);
        xs[3..6].copy_from_slice(&[0.0, 0.0, 0.0]); // pre = b_enc: 2 positives
        let x = Tensor::from_vec(xs, (n, d_in), &dev).unwrap();
        for cfg in [
            serde_json::json!({"k": 3}),
            serde_json::json!({"k": 3, "rescale_acts_by_decoder_norm": true}),
            serde_json::json!({"k": 2, "architecture": ABS_TOPK, "rescale_acts_by_decoder_norm": true}),
        ] {
            let dense = TopK.encode(&p, &x, &cfg).unwrap().to_vec2::<f32>().unwrap();
            let csr = TopK.encode_csr(&p, &x, &cfg).unwrap().unwrap();
            for (r, row) in dense.iter().enumerate() {
                let (a, b) = (csr.indptr[r] as usize, csr.indptr[r + 1] as usize);
                let got: Vec<(u32, f32)> =
                    (a..b).map(|i| (csr.indices[i], csr.values[i])).collect();
                let want: Vec<(u32, f32)> = row
                    .iter()
                    .enumerate()
                    .filter(|(_, v)| **v != 0.0)
                    .map(|(j, v)| (j as u32, *v))
                    .collect();
                assert_eq!(got, want, "{cfg} row {r}");
            }
        }
    }

    /// The hand-written training step equals `forward` through autograd.
    #[test]
    fn sparse_step_matches_forward() {
        let check = rdpbench_train::testing::check_sparse_training(&super::TopK).unwrap();
        assert!(check.aux_steps > 0 && check.worst_loss < 1e-4, "{check:?}");
    }

    #[test]
    fn declaration_is_truthful() {
        rdpbench_train::testing::check_architecture(&super::TopK).unwrap();
    }
}

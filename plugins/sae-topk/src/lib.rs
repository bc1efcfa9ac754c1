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
use rdpbench_train::{
    Architecture, Forward, Params, StepContext, TrainConfig, cfg_usize, decode_sparse, ops,
    pre_activation, relu_pre_activation,
};

/// SAELens's cfg.json switch for decoder-norm rescaling (default `false`).
const RESCALE: &str = "rescale_acts_by_decoder_norm";
/// The SAELens architecture whose selection is by magnitude, signed.
const ABS_TOPK: &str = "abstopk";

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
            .min(1.0),
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

    fn encode(&self, w: &Params, x: &Tensor, cfg: &serde_json::Value) -> anyhow::Result<Tensor> {
        let k = cfg_usize(cfg, "k")?;
        let rescale = match cfg.get(RESCALE) {
            None => false,
            Some(v) => v.as_bool().ok_or_else(|| {
                anyhow::anyhow!("cfg.json: field `{RESCALE}` = {v} is not a boolean")
            })?,
        };
        let norms = || -> Result<Tensor> { w.get("W_dec")?.sqr()?.sum(D::Minus1)?.sqrt() };
        if cfg.get("architecture").and_then(|a| a.as_str()) == Some(ABS_TOPK) {
            let mut pre = pre_activation(w.get("W_enc")?, w.get("b_enc")?, w.get("b_dec")?, x)?;
            if rescale {
                pre = pre.broadcast_mul(&norms()?)?;
            }
            return Ok((&pre * ops::topk_mask(&pre.abs()?, k)?)?);
        }
        let mut z = relu_pre_activation(w.get("W_enc")?, w.get("b_enc")?, w.get("b_dec")?, x)?;
        if rescale {
            // ReLU(π)·‖W_dec,j‖ = ReLU(π·‖W_dec,j‖): the norms are positive.
            z = z.broadcast_mul(&norms()?)?;
        }
        Ok((&z * ops::topk_mask(&z, k)?)?)
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
    #[test]
    fn declaration_is_truthful() {
        rdpbench_train::testing::check_architecture(&super::TopK).unwrap();
    }
}

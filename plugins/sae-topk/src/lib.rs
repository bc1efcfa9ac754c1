//! TopK SAE (Gao et al. 2024; SAELens `topk`).
//!
//! `z = ReLU((x − b_dec) W_enc + b_enc)`, `f = TopK_k(z)` per row,
//! `x̂ = f W_dec + b_dec`; loss `E‖x − x̂‖²` plus the SDK's AuxK term on dead
//! latents. `cfg.json` carries `k`.

use rdpbench_sdk::sae::{
    Hyperparameter, SaeSpec, SaelensCfgField, SaelensInterop, ValueRange, ValueType,
};
use rdpbench_train::candle_core::{Result, Tensor};
use rdpbench_train::{
    Architecture, Forward, Params, StepContext, TrainConfig, cfg_usize, decode_sparse, ops,
    relu_pre_activation,
};

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
                loads: vec!["topk".into()],
                tensors: SaelensInterop::standard_tensors(),
                cfg_fields: vec![SaelensCfgField {
                    name: "k".into(),
                    kind: ValueType::Int,
                    range: Some(ValueRange {
                        min: Some(1.0),
                        ..ValueRange::default()
                    }),
                    at_most: Some("d_sae".into()),
                    description: "active latents per row at inference".into(),
                }],
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
        let z = relu_pre_activation(w.get("W_enc")?, w.get("b_enc")?, w.get("b_dec")?, x)?;
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

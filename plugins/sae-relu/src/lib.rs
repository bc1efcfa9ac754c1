//! ReLU + L1 SAE (SAELens `standard`; Bricken et al. 2023, Conerly et al. 2024).
//!
//! `f = ReLU((x − b_dec) W_enc + b_enc)`, `x̂ = f W_dec + b_dec`; loss
//! `E‖x − x̂‖² + λ E Σ_j f_j ‖W_dec,j‖` (the SDK adds the first term).
//! Shapes: `x [n, d_in]`, `W_enc [d_in, d_sae]`, `W_dec [d_sae, d_in]`.
//! The bias + ReLU and the weighted L1 sum run as the SDK's fused kernels
//! (`rdpbench_train::fused`): same formulas, one parallel pass each.

use rdpbench_sdk::sae::{Hyperparameter, SaeSpec, SaelensInterop, ValueType};
use rdpbench_train::TrainConfig;
use rdpbench_train::candle_core::{Result, Tensor};
use rdpbench_train::{
    Architecture, Forward, Params, StepContext, decode_sparse, fused, ops, relu_pre_activation,
};

/// The ReLU + L1 architecture.
#[derive(Debug, Clone, Copy, Default)]
pub struct Relu;

impl Architecture for Relu {
    fn spec(&self) -> SaeSpec {
        let hyperparameters = vec![
            Hyperparameter::new(
                "l1_coefficient",
                ValueType::Float,
                TrainConfig::default().l1_coefficient,
                "coefficient λ of the decoder-norm-weighted L1 penalty",
            )
            .min(0.0),
        ];
        SaeSpec {
            id: "relu".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            description: "ReLU SAE with a decoder-norm-weighted L1 penalty (SAELens `standard`)"
                .into(),
            citation: "Bricken et al. 2023, Towards Monosemanticity".into(),
            saelens_architecture: "standard".into(),
            default_hyperparameters: Hyperparameter::defaults(&hyperparameters),
            hyperparameters,
            sparsity_knob: Some("l1_coefficient".into()),
            saelens: SaelensInterop {
                loads: vec!["standard".into()],
                tensors: SaelensInterop::standard_tensors(),
                cfg_fields: Vec::new(),
                ..SaelensInterop::default()
            },
        }
    }

    fn forward(&self, p: &Params, x: &Tensor, ctx: &mut StepContext<'_>) -> Result<Forward> {
        let w_dec = p.get("W_dec")?;
        let b_dec = p.get("b_dec")?;
        let codes = relu_pre_activation(p.get("W_enc")?, p.get("b_enc")?, b_dec, x)?;
        let x_hat = decode_sparse(&codes, w_dec, b_dec)?;
        // λ · E_rows Σ_j f_j ‖W_dec,j‖ = (λ / n) Σ_{rows, j} f_j ‖W_dec,j‖.
        let n = codes.dims2()?.0 as f64;
        let l1 = (fused::weighted_l1(&codes, &ops::row_norms(w_dec)?)?
            * (ctx.config.l1_coefficient / n))?;
        Ok(Forward {
            codes,
            x_hat,
            losses: vec![("l1", l1)],
            aux_pre_acts: None,
        })
    }

    fn encode(&self, w: &Params, x: &Tensor, _cfg: &serde_json::Value) -> anyhow::Result<Tensor> {
        Ok(relu_pre_activation(
            w.get("W_enc")?,
            w.get("b_enc")?,
            w.get("b_dec")?,
            x,
        )?)
    }
}

rdpbench_sdk::export_plugin!(saes: [rdpbench_train::CandleSae(Relu)]);

#[cfg(test)]
mod tests {
    #[test]
    fn declaration_is_truthful() {
        rdpbench_train::testing::check_architecture(&super::Relu).unwrap();
    }
}

//! JumpReLU SAE (Rajamanoharan et al. 2024; SAELens `jumprelu`).
//!
//! `π = (x − b_dec) W_enc + b_enc`, `f = π · H(π − θ)`, `x̂ = f W_dec + b_dec`;
//! loss `E‖x − x̂‖² + λ E Σ_j H(π_j − θ_j)` (L0). The step function gets the
//! straight-through estimator with a rectangle kernel of width `ε`
//! (`jumprelu_bandwidth`). `θ = exp(log θ)` is trained in log space and saved
//! as `threshold [d_sae]`.

use rdpbench_sdk::sae::{Dim, Hyperparameter, SaeSpec, SaelensInterop, SaelensTensor, ValueType};
use rdpbench_train::candle_core::{Result, Tensor};
use rdpbench_train::{
    Architecture, Buffers, Dims, Forward, Init, ParamSpec, Params, StepContext, TrainConfig,
    decode, ops, pre_activation, standard_params,
};

/// The JumpReLU architecture.
#[derive(Debug, Clone, Copy, Default)]
pub struct JumpRelu;

impl Architecture for JumpRelu {
    fn spec(&self) -> SaeSpec {
        let d = TrainConfig::default();
        let hyperparameters = vec![
            Hyperparameter::new(
                "l0_coefficient",
                ValueType::Float,
                d.l0_coefficient,
                "coefficient λ of the L0 penalty",
            )
            .min(0.0),
            Hyperparameter::new(
                "jumprelu_init_threshold",
                ValueType::Float,
                d.jumprelu_init_threshold,
                "initial threshold θ of every latent",
            )
            .above(0.0),
            Hyperparameter::new(
                "jumprelu_bandwidth",
                ValueType::Float,
                d.jumprelu_bandwidth,
                "width ε of the straight-through estimator's rectangle kernel",
            )
            .above(0.0),
        ];
        SaeSpec {
            id: "jumprelu".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            description: "JumpReLU SAE with an L0 penalty and straight-through threshold gradients".into(),
            citation: "Rajamanoharan et al. 2024, Jumping Ahead: Improving Reconstruction Fidelity with JumpReLU SAEs".into(),
            saelens_architecture: "jumprelu".into(),
            default_hyperparameters: Hyperparameter::defaults(&hyperparameters),
            hyperparameters,
            sparsity_knob: Some("l0_coefficient".into()),
            saelens: SaelensInterop {
                loads: vec!["jumprelu".into()],
                tensors: [
                    SaelensInterop::standard_tensors(),
                    vec![SaelensTensor::new("threshold", &[Dim::DSae])],
                ]
                .concat(),
                cfg_fields: Vec::new(),
                ..SaelensInterop::default()
            },
        }
    }

    fn params(&self, dims: Dims, config: &TrainConfig) -> Vec<ParamSpec> {
        let mut p = standard_params(dims);
        let init = Init::Const(config.jumprelu_init_threshold.ln());
        p.push(ParamSpec {
            name: "log_threshold",
            shape: vec![dims.d_sae],
            init,
        });
        p
    }

    fn forward(&self, p: &Params, x: &Tensor, ctx: &mut StepContext<'_>) -> Result<Forward> {
        let b_dec = p.get("b_dec")?;
        let pre = pre_activation(p.get("W_enc")?, p.get("b_enc")?, b_dec, x)?;
        let theta = p.get("log_threshold")?.exp()?;
        let eps = ctx.config.jumprelu_bandwidth;
        let codes = ops::jumprelu(&pre, &theta, eps)?;
        let l0 = (ops::jumprelu_l0(&pre, &theta, eps)? * ctx.config.l0_coefficient)?;
        let x_hat = decode(&codes, p.get("W_dec")?, b_dec)?;
        Ok(Forward {
            codes,
            x_hat,
            losses: vec![("l0", l0)],
            aux_pre_acts: None,
        })
    }

    fn encode(&self, w: &Params, x: &Tensor, _cfg: &serde_json::Value) -> anyhow::Result<Tensor> {
        Ok(ops::threshold_encode(w, x)?)
    }

    fn export(
        &self,
        p: &Params,
        _b: &Buffers,
        _c: &TrainConfig,
        _d: Dims,
    ) -> anyhow::Result<Vec<(String, Tensor)>> {
        let mut out = Vec::new();
        for name in ["W_enc", "b_enc", "W_dec", "b_dec"] {
            out.push((name.to_string(), p.get(name)?.clone()));
        }
        out.push(("threshold".to_string(), p.get("log_threshold")?.exp()?));
        Ok(out)
    }
}

rdpbench_sdk::export_plugin!(saes: [rdpbench_train::CandleSae(JumpRelu)]);

#[cfg(test)]
mod tests {
    #[test]
    fn declaration_is_truthful() {
        rdpbench_train::testing::check_architecture(&super::JumpRelu).unwrap();
    }
}

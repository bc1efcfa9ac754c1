//! Gated SAE (Rajamanoharan et al. 2024; SAELens `gated`).
//!
//! With `h = (x − b_dec) W_enc`: gate `π_g = h + b_gate`, magnitude
//! `π_m = h · exp(r_mag) + b_mag` (i.e. `W_enc` columns rescaled by `exp(r_mag)`),
//! `f = 1[π_g > 0] · ReLU(π_m)`, `x̂ = f W_dec + b_dec`. Loss
//! `E‖x − x̂‖² + λ E Σ_j ReLU(π_g)_j ‖W_dec,j‖ + E‖x − (ReLU(π_g) sg(W_dec) + sg(b_dec))‖²`
//! (`sg` = stop-gradient). Tensors: `W_enc, b_gate, r_mag, b_mag, W_dec, b_dec`.

use rdpbench_sdk::sae::{Dim, Hyperparameter, SaeSpec, SaelensInterop, SaelensTensor, ValueType};
use rdpbench_train::candle_core::{D, Result, Tensor};
use rdpbench_train::{
    Architecture, Dims, Forward, Init, ParamSpec, Params, StepContext, TrainConfig, decode, ops,
};

/// The Gated architecture.
#[derive(Debug, Clone, Copy, Default)]
pub struct Gated;

/// `(gate pre-activation, codes)`.
fn gated(p: &Params, x: &Tensor) -> Result<(Tensor, Tensor)> {
    let h = x.broadcast_sub(p.get("b_dec")?)?.matmul(p.get("W_enc")?)?;
    let pi_gate = h.broadcast_add(p.get("b_gate")?)?;
    let pi_mag = h
        .broadcast_mul(&p.get("r_mag")?.exp()?)?
        .broadcast_add(p.get("b_mag")?)?;
    let open = pi_gate.detach().gt(0f32)?.to_dtype(pi_gate.dtype())?;
    let codes = (open * pi_mag.relu()?)?;
    Ok((pi_gate, codes))
}

impl Architecture for Gated {
    fn spec(&self) -> SaeSpec {
        let hyperparameters = vec![
            Hyperparameter::new(
                "l1_coefficient",
                ValueType::Float,
                1.0,
                "coefficient λ of the decoder-norm-weighted L1 penalty on the gate",
            )
            .min(0.0),
        ];
        let lat = |name| SaelensTensor::new(name, &[Dim::DSae]);
        SaeSpec {
            id: "gated".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            description: "Gated SAE: a gate path decides which latents fire, a magnitude path how much".into(),
            citation: "Rajamanoharan et al. 2024, Improving Dictionary Learning with Gated Sparse Autoencoders".into(),
            saelens_architecture: "gated".into(),
            default_hyperparameters: Hyperparameter::defaults(&hyperparameters),
            hyperparameters,
            sparsity_knob: Some("l1_coefficient".into()),
            saelens: SaelensInterop {
                loads: vec!["gated".into()],
                tensors: vec![
                    SaelensTensor::new("W_enc", &[Dim::DIn, Dim::DSae]),
                    lat("b_gate"),
                    lat("r_mag"),
                    lat("b_mag"),
                    SaelensTensor::new("W_dec", &[Dim::DSae, Dim::DIn]),
                    SaelensTensor::new("b_dec", &[Dim::DIn]),
                ],
                cfg_fields: Vec::new(),
                ..SaelensInterop::default()
            },
        }
    }

    fn params(&self, d: Dims, _config: &TrainConfig) -> Vec<ParamSpec> {
        vec![
            ParamSpec {
                name: "W_dec",
                shape: vec![d.d_sae, d.d_in],
                init: Init::UnitRows,
            },
            ParamSpec {
                name: "W_enc",
                shape: vec![d.d_in, d.d_sae],
                init: Init::TransposeOf("W_dec"),
            },
            ParamSpec {
                name: "b_gate",
                shape: vec![d.d_sae],
                init: Init::Zeros,
            },
            ParamSpec {
                name: "r_mag",
                shape: vec![d.d_sae],
                init: Init::Zeros,
            },
            ParamSpec {
                name: "b_mag",
                shape: vec![d.d_sae],
                init: Init::Zeros,
            },
            ParamSpec {
                name: "b_dec",
                shape: vec![d.d_in],
                init: Init::Zeros,
            },
        ]
    }

    fn forward(&self, p: &Params, x: &Tensor, ctx: &mut StepContext<'_>) -> Result<Forward> {
        let (w_dec, b_dec) = (p.get("W_dec")?, p.get("b_dec")?);
        let (pi_gate, codes) = gated(p, x)?;
        let x_hat = decode(&codes, w_dec, b_dec)?;
        let gate = pi_gate.relu()?;
        let norms = w_dec.sqr()?.sum(D::Minus1)?.sqrt()?;
        let l1 =
            (gate.broadcast_mul(&norms)?.sum(D::Minus1)?.mean_all()? * ctx.config.l1_coefficient)?;
        let x_aux = decode(&gate, &w_dec.detach(), &b_dec.detach())?;
        let aux = ops::sse_per_row(x, &x_aux)?;
        Ok(Forward {
            codes,
            x_hat,
            losses: vec![("l1", l1), ("gate_aux", aux)],
            aux_pre_acts: None,
        })
    }

    fn encode(&self, w: &Params, x: &Tensor, _cfg: &serde_json::Value) -> anyhow::Result<Tensor> {
        Ok(gated(w, x)?.1)
    }
}

rdpbench_sdk::export_plugin!(saes: [rdpbench_train::CandleSae(Gated)]);

#[cfg(test)]
mod tests {
    #[test]
    fn declaration_is_truthful() {
        rdpbench_train::testing::check_architecture(&super::Gated).unwrap();
    }
}

//! Matryoshka BatchTopK SAE (Bussmann et al. 2025; Nabeshima 2024).
//!
//! Codes as BatchTopK. Every nested prefix `m_1 < … < m_P = d_sae` of the
//! latents must reconstruct on its own: loss `Σ_p E‖x − (f_{:m_p} W_dec,{:m_p} + b_dec)‖²`
//! (the SDK adds the full-width term) plus AuxK. Saved as SAELens `jumprelu`
//! with the running BatchTopK threshold broadcast to `[d_sae]`.

use rdpbench_sdk::sae::{Dim, Hyperparameter, SaeSpec, SaelensInterop, SaelensTensor, ValueType};
use rdpbench_train::candle_core::{Result, Tensor};
use rdpbench_train::sparse_step::{Selection, SparseTraining};
use rdpbench_train::{
    Architecture, Buffers, Dims, Forward, Params, StepContext, TrainConfig, decode_sparse, ops,
    relu_pre_activation,
};

/// The Matryoshka BatchTopK architecture.
#[derive(Debug, Clone, Copy, Default)]
pub struct Matryoshka;

impl Architecture for Matryoshka {
    fn spec(&self) -> SaeSpec {
        let d = TrainConfig::default();
        let hyperparameters = vec![
            Hyperparameter::new("k", ValueType::Float, d.k, "mean active latents per row over a batch (round(k · batch) per batch; at most d_sae)").above(0.0).at_most("d_sae"),
        Hyperparameter::new("threshold_momentum", ValueType::Float, d.threshold_momentum, "momentum of the running inference threshold (average of the smallest selected activation per batch)").min(0.0).max(1.0),
        Hyperparameter::new("aux_k", ValueType::Int, d.aux_k, "k of the AuxK loss on dead latents (0: d_in / 2)").min(0.0),
        Hyperparameter::new("aux_k_coefficient", ValueType::Float, d.aux_k_coefficient, "weight of the AuxK loss").min(0.0),
        Hyperparameter::new("matryoshka_prefixes", ValueType::IntList, Vec::<usize>::new(), "nested prefix sizes, ascending, each < d_sae (empty: d_sae/8, d_sae/4, d_sae/2)").min(1.0),
        ];
        SaeSpec {
            id: "matryoshka".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            description: "Matryoshka BatchTopK SAE: nested latent prefixes each reconstruct; saved as JumpReLU".into(),
            citation: "Bussmann et al. 2025, Learning Multi-Level Features with Matryoshka SAEs".into(),
            saelens_architecture: "jumprelu".into(),
            default_hyperparameters: Hyperparameter::defaults(&hyperparameters),
            hyperparameters,
            sparsity_knob: Some("k".into()),
            // Saved as `jumprelu`; a saved folder is loaded by the `jumprelu`
            // plugin (same inference encoder), so it claims no string itself.
            saelens: SaelensInterop {
                loads: Vec::new(),
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

    fn forward(&self, p: &Params, x: &Tensor, ctx: &mut StepContext<'_>) -> Result<Forward> {
        let (w_dec, b_dec) = (p.get("W_dec")?, p.get("b_dec")?);
        let z = relu_pre_activation(p.get("W_enc")?, p.get("b_enc")?, b_dec, x)?;
        let codes =
            ops::batch_topk_codes(&z, ctx.config.k, ctx.config.threshold_momentum, ctx.buffers)?;
        let mut losses = Vec::new();
        for m in ctx
            .config
            .prefixes()
            .into_iter()
            .filter(|&m| m < ctx.dims.d_sae)
        {
            let x_m = decode_sparse(&codes.narrow(1, 0, m)?, &w_dec.narrow(0, 0, m)?, b_dec)?;
            losses.push(("prefix_sse", ops::sse_per_row(x, &x_m)?));
        }
        let x_hat = decode_sparse(&codes, w_dec, b_dec)?;
        Ok(Forward {
            codes,
            x_hat,
            losses,
            aux_pre_acts: Some(z),
        })
    }

    fn sparse_training(&self, config: &TrainConfig) -> Option<SparseTraining> {
        Some(SparseTraining {
            selection: Selection::BatchTopK {
                k: config.k,
                threshold_momentum: config.threshold_momentum,
            },
            prefixes: config.prefixes(),
        })
    }

    fn encode(&self, w: &Params, x: &Tensor, _cfg: &serde_json::Value) -> anyhow::Result<Tensor> {
        Ok(ops::threshold_encode(w, x)?)
    }

    fn export(
        &self,
        p: &Params,
        buffers: &Buffers,
        _c: &TrainConfig,
        dims: Dims,
    ) -> anyhow::Result<Vec<(String, Tensor)>> {
        Ok(ops::export_with_threshold(p, buffers, dims.d_sae)?)
    }
}

rdpbench_sdk::export_plugin!(saes: [rdpbench_train::CandleSae(Matryoshka)]);

#[cfg(test)]
mod tests {
    /// The hand-written training step equals `forward` through autograd.
    #[test]
    fn sparse_step_matches_forward() {
        let check = rdpbench_train::testing::check_sparse_training(&super::Matryoshka).unwrap();
        assert!(check.aux_steps > 0 && check.worst_loss < 1e-4, "{check:?}");
    }

    #[test]
    fn declaration_is_truthful() {
        rdpbench_train::testing::check_architecture(&super::Matryoshka).unwrap();
    }
}

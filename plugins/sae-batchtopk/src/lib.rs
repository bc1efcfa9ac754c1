//! BatchTopK SAE (Bussmann, Leask & Nanda 2024).
//!
//! Training: `z = ReLU((x − b_dec) W_enc + b_enc)`; the `k·batch` largest
//! entries of the whole batch stay, `x̂ = f W_dec + b_dec`; loss `E‖x − x̂‖²`
//! plus AuxK. Inference: a JumpReLU with one threshold `θ` for every latent,
//! the running average of the smallest selected activation; saved as
//! SAELens `jumprelu` with `threshold = θ` broadcast to `[d_sae]`.

use rdpbench_sdk::sae::{Dim, Hyperparameter, SaeSpec, SaelensInterop, SaelensTensor, ValueType};
use rdpbench_train::candle_core::{Result, Tensor};
use rdpbench_train::sparse_step::{Selection, SparseTraining};
use rdpbench_train::{
    Architecture, Buffers, Dims, Forward, Params, StepContext, TrainConfig, decode_sparse, ops,
    relu_pre_activation,
};

/// The BatchTopK architecture.
#[derive(Debug, Clone, Copy, Default)]
pub struct BatchTopK;

impl Architecture for BatchTopK {
    fn spec(&self) -> SaeSpec {
        let d = TrainConfig::default();
        let hyperparameters = vec![
            Hyperparameter::new("k", ValueType::Float, d.k, "mean active latents per row over a batch (round(k · batch) per batch; at most d_sae)").above(0.0).at_most("d_sae"),
        Hyperparameter::new("threshold_momentum", ValueType::Float, d.threshold_momentum, "momentum of the running inference threshold (average of the smallest selected activation per batch)").min(0.0).max(1.0),
        Hyperparameter::new("aux_k", ValueType::Int, d.aux_k, "k of the AuxK loss on dead latents (0: d_in / 2)").min(0.0),
        Hyperparameter::new("aux_k_coefficient", ValueType::Float, d.aux_k_coefficient, "weight of the AuxK loss").min(0.0),
        ];
        SaeSpec {
            id: "batchtopk".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            description:
                "BatchTopK SAE: k active latents per row on average over a batch; saved as JumpReLU"
                    .into(),
            citation: "Bussmann, Leask & Nanda 2024, BatchTopK Sparse Autoencoders".into(),
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
        let b_dec = p.get("b_dec")?;
        let z = relu_pre_activation(p.get("W_enc")?, p.get("b_enc")?, b_dec, x)?;
        let codes =
            ops::batch_topk_codes(&z, ctx.config.k, ctx.config.threshold_momentum, ctx.buffers)?;
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
            selection: Selection::BatchTopK {
                k: config.k,
                threshold_momentum: config.threshold_momentum,
            },
            prefixes: Vec::new(),
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

rdpbench_sdk::export_plugin!(saes: [rdpbench_train::CandleSae(BatchTopK)]);

#[cfg(test)]
mod tests {
    /// The hand-written training step equals `forward` through autograd.
    #[test]
    fn sparse_step_matches_forward() {
        let check = rdpbench_train::testing::check_sparse_training(&super::BatchTopK).unwrap();
        assert!(check.aux_steps > 0 && check.worst_loss < 1e-4, "{check:?}");
    }

    #[test]
    fn declaration_is_truthful() {
        rdpbench_train::testing::check_architecture(&super::BatchTopK).unwrap();
    }
}

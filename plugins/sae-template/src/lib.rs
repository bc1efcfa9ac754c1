//! A ReLU SAE with an L1 penalty whose coefficient warms up: the template
//! that `rdpbench new sae NAME` copies. Rename the type and the `id`, then
//! change `forward` and `encode` to your architecture's math.
//!
//! `f = ReLU((x − b_dec) W_enc + b_enc)`, `x̂ = f W_dec + b_dec`; loss
//! `E‖x − x̂‖² + λ(t) E Σ_j f_j` with `λ(t) = λ · min(1, (t + 1) / warm-up)`
//! (SAELens `l1_warm_up_steps`). The training library adds the first term,
//! and rescales the decoder rows to unit norm after every step, so the plain
//! L1 sum equals the decoder-norm-weighted one of `rdpbench-sae-relu`.
//! Shapes: `x [n, d_in]`, `W_enc [d_in, d_sae]`, `W_dec [d_sae, d_in]`.
//!
//! What the library does for you (`rdpbench_train`): parameters and their
//! initialisation (default: SAELens `W_enc`, `b_enc`, `W_dec`, `b_dec`),
//! AdamW and the learning-rate schedule, dead-latent bookkeeping, held-out
//! reports, checkpoints and resume, and writing `cfg.json` + tensors.

use rdpbench_sdk::sae::{Hyperparameter, SaeSpec, SaelensDecode, SaelensInterop, ValueType};
use rdpbench_train::candle_core::{D, Result, Tensor};
use rdpbench_train::{
    Architecture, Forward, Params, StepContext, TrainConfig, decode, relu_pre_activation,
};

/// The architecture. Stateless: everything it learns is in `Params`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Template;

/// Name of this architecture's own hyperparameter. Keys that `TrainConfig`
/// has no field for reach `forward` through `TrainConfig::extra`, once
/// declared in the spec below.
const L1_WARMUP_STEPS: &str = "l1_warmup_steps";

/// The L1 coefficient's fraction at optimiser step `step`.
fn warmup_scale(step: u64, warmup_steps: f64) -> f64 {
    if warmup_steps <= 0.0 {
        1.0
    } else {
        ((step + 1) as f64 / warmup_steps).min(1.0)
    }
}

impl Architecture for Template {
    /// What the host learns about this plugin: everything it needs to train
    /// it in a sweep and to read and write SAELens folders.
    fn spec(&self) -> SaeSpec {
        // 1. Every architecture-specific key its training config reads, with
        //    type, default and allowed range. The generic ones every plugin
        //    shares (d_sae, steps, lr, seed, ...) are not listed.
        let hyperparameters = vec![
            Hyperparameter::new(
                "l1_coefficient", // a `TrainConfig` field
                ValueType::Float,
                TrainConfig::default().l1_coefficient,
                "coefficient λ of the L1 penalty once warmed up",
            )
            .min(0.0),
            Hyperparameter::new(
                L1_WARMUP_STEPS, // this plugin's own: read from `config.extra`
                ValueType::Int,
                0,
                "steps over which λ rises linearly from 0 (0: no warm-up)",
            )
            .min(0.0),
        ];
        SaeSpec {
            id: "template".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            description:
                "ReLU SAE with an L1 penalty that warms up (the `rdpbench new sae` template)".into(),
            citation: "Bricken et al. 2023, Towards Monosemanticity; Conerly et al. 2024".into(),
            // 2. The SAELens `architecture` string its weights are saved under.
            saelens_architecture: "standard".into(),
            default_hyperparameters: Hyperparameter::defaults(&hyperparameters),
            hyperparameters,
            // 3. The hyperparameter a sweep varies to trade sparsity for
            //    reconstruction.
            sparsity_knob: Some("l1_coefficient".into()),
            saelens: SaelensInterop {
                // 4. SAELens strings it claims when the host loads a folder.
                //    Each string belongs to one plugin: `relu` already loads
                //    `standard`, so this template claims none. A new format
                //    would list its own string here.
                loads: Vec::new(),
                // 5. Its tensors with symbolic shapes, in saving order.
                tensors: SaelensInterop::standard_tensors(),
                // 6. Extra `cfg.json` fields `encode` reads (none here; TopK
                //    declares `k`, written by `Architecture::cfg_fields`).
                cfg_fields: Vec::new(),
                // 7. Where its decoder departs from `f W_dec + b_dec` (TopK:
                //    codes divided by decoder norms under
                //    `rescale_acts_by_decoder_norm`); none here.
                decode: SaelensDecode::default(),
            },
        }
    }

    /// One training forward pass on a batch `x [n, d_in]`.
    fn forward(&self, p: &Params, x: &Tensor, ctx: &mut StepContext<'_>) -> Result<Forward> {
        let (w_dec, b_dec) = (p.get("W_dec")?, p.get("b_dec")?);
        let codes = relu_pre_activation(p.get("W_enc")?, p.get("b_enc")?, b_dec, x)?;
        let x_hat = decode(&codes, w_dec, b_dec)?;
        let warmup = ctx
            .config
            .extra_f64(L1_WARMUP_STEPS)
            .map_err(|e| rdpbench_train::candle_core::Error::Msg(e.to_string()))?;
        let lambda = ctx.config.l1_coefficient * warmup_scale(ctx.step, warmup);
        // E_rows Σ_j f_j (codes are ≥ 0, so this is the L1 norm).
        let l1 = (codes.sum(D::Minus1)?.mean_all()? * lambda)?;
        Ok(Forward {
            codes,
            x_hat,
            // Named, already weighted loss terms; the library adds them up
            // and reports each.
            losses: vec![("l1", l1)],
            // Only architectures that use the AuxK loss return pre-activations.
            aux_pre_acts: None,
        })
    }

    /// Inference codes `[n, d_sae]` from SAELens-named tensors.
    fn encode(&self, w: &Params, x: &Tensor, _cfg: &serde_json::Value) -> anyhow::Result<Tensor> {
        Ok(relu_pre_activation(
            w.get("W_enc")?,
            w.get("b_enc")?,
            w.get("b_dec")?,
            x,
        )?)
    }
}

// The library's entry symbol: `CandleSae` turns the math above into a
// trainable, exportable `SaeArchitecture`.
rdpbench_sdk::export_plugin!(saes: [rdpbench_train::CandleSae(Template)]);

#[cfg(test)]
mod tests {
    use super::*;
    use rdpbench_sdk::data::MatrixView;
    use rdpbench_train::testing::{check_architecture, toy_rows, train_on_toy};

    /// The spec is consistent, its defaults and bounds parse, and a tiny
    /// training run writes exactly the declared SAELens tensors.
    #[test]
    fn declaration_is_truthful() {
        check_architecture(&Template).unwrap();
    }

    #[test]
    fn out_of_range_hyperparameters_are_refused_by_name() {
        let e = Template
            .spec()
            .validate_hyperparameters(&serde_json::json!({ "l1_warmup_steps": -5 }))
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "`template`: hyperparameter `l1_warmup_steps` = -5 is out of range: allowed [0, +inf)"
        );
    }

    #[test]
    fn warmup_rises_linearly_then_holds() {
        assert_eq!(warmup_scale(0, 0.0), 1.0);
        assert_eq!(warmup_scale(0, 4.0), 0.25);
        assert_eq!(warmup_scale(3, 4.0), 1.0);
        assert_eq!(warmup_scale(10, 4.0), 1.0);
    }

    /// Training reduces the held-out reconstruction error well below that of
    /// the initial weights, and the codes are sparse.
    #[test]
    fn training_reduces_reconstruction_error() {
        let d_in = 16;
        let config = serde_json::json!({
            "d_sae": 32, "steps": 300, "batch_size": 64, "lr": 3e-3,
            "l1_coefficient": 0.01, "l1_warmup_steps": 20, "eval_rows": 64,
        });
        let parsed = TrainConfig::from_json_for(&config.to_string(), &Template.spec()).unwrap();
        let initial = rdpbench_train::Session::new(&Template, parsed, d_in)
            .unwrap()
            .export()
            .unwrap();
        let trained = train_on_toy(&Template, d_in, config).unwrap();
        let held_out = toy_rows(d_in).starting_at(1 << 20).take(256);
        let x = MatrixView::new(256, d_in, &held_out).unwrap();
        let before = rdpbench_train::evaluate(&Template, &initial, x).unwrap();
        let after = rdpbench_train::evaluate(&Template, &trained, x).unwrap();
        let (mse0, mse1) = (before.mse().unwrap(), after.mse().unwrap());
        assert!(mse1 < 0.25 * mse0, "MSE {mse0} -> {mse1}");
        assert!(after.l0().unwrap() < 32.0, "L0 {:?}", after.l0());
    }
}

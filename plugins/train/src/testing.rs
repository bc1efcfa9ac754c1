//! Checks an SDK-trained architecture plugin runs in its own `cargo test`.
//!
//! ```text
//! #[test]
//! fn declaration_is_truthful() {
//!     rdpbench_train::testing::check_architecture(&MyArch).unwrap();
//! }
//! ```

use crate::rng::SplitMix64;
use crate::{Architecture, TrainConfig, encode, train};
use anyhow::{Context as _, Result, ensure};
use rdpbench_api::data::MatrixView;
use rdpbench_api::sae::{BatchSource, NoProgress, SaeWeights, TrainRequest};

/// A deterministic stream of sparse, non-negative rows: each row is a sum of
/// a few of `n_concepts` fixed random directions, so an SAE has structure
/// to find. Endless.
#[derive(Debug, Clone)]
pub struct ToyRows {
    d_in: usize,
    directions: Vec<f32>,
    next_row: u64,
    seed: u64,
}

impl ToyRows {
    /// `n_concepts` random directions in `d_in` dimensions, from `seed`.
    pub fn new(d_in: usize, n_concepts: usize, seed: u64) -> Self {
        let mut g = SplitMix64::new(seed, u64::MAX);
        let directions = (0..n_concepts * d_in).map(|_| g.normal() as f32).collect();
        Self {
            d_in,
            directions,
            next_row: 0,
            seed,
        }
    }

    /// The same concepts, with the stream starting at row `row` (rows far
    /// from the ones training read make a held-out set).
    pub fn starting_at(mut self, row: u64) -> Self {
        self.next_row = row;
        self
    }

    /// The next `rows` rows as one row-major buffer.
    pub fn take(&mut self, rows: usize) -> Vec<f32> {
        let mut out = vec![0.0; rows * self.d_in];
        let n = self
            .next_batch(&mut out, rows)
            .expect("ToyRows never fails");
        debug_assert_eq!(n, rows);
        out
    }
}

impl BatchSource for ToyRows {
    fn d_in(&self) -> usize {
        self.d_in
    }

    fn next_batch(&mut self, out: &mut [f32], rows: usize) -> Result<usize> {
        let d = self.d_in;
        let n_concepts = self.directions.len() / d;
        for (r, row) in out.chunks_exact_mut(d).take(rows).enumerate() {
            let mut g = SplitMix64::new(self.seed, self.next_row + r as u64);
            row.fill(0.0);
            for c in 0..n_concepts {
                // Each concept is active on about one row in eight.
                if g.uniform() < 0.125 {
                    let a = 1.0 + g.uniform() as f32;
                    for (o, &w) in row.iter_mut().zip(&self.directions[c * d..(c + 1) * d]) {
                        *o += a * w;
                    }
                }
            }
        }
        self.next_row += rows as u64;
        Ok(rows)
    }
}

/// The toy data [`train_on_toy`] trains on: 12 concepts, seed 1.
pub fn toy_rows(d_in: usize) -> ToyRows {
    ToyRows::new(d_in, 12, 1)
}

/// Trains `arch` on [`toy_rows`] with its declared defaults overridden by
/// `overrides` (a JSON object: `d_sae`, `steps`, ...).
pub fn train_on_toy(
    arch: &dyn Architecture,
    d_in: usize,
    overrides: serde_json::Value,
) -> Result<SaeWeights> {
    let mut config = arch.spec().default_hyperparameters;
    if !config.is_object() {
        config = serde_json::json!({});
    }
    for (k, v) in overrides
        .as_object()
        .context("overrides must be a JSON object")?
    {
        config[k.as_str()] = v.clone();
    }
    let mut data = toy_rows(d_in);
    train(
        arch,
        TrainRequest {
            config: &config.to_string(),
            data: &mut data,
            observer: &mut NoProgress,
        },
    )
}

/// Checks that an architecture's declaration is truthful:
///
/// - [`rdpbench_api::testing::check_sae_spec`] with the SDK's
///   [`TrainConfig`] parser (and its range checks at `d_in = 8`): the spec is
///   consistent, declares a sparsity knob among its hyperparameters, and its
///   declared defaults and range bounds parse as a training config;
/// - a tiny training run (8 inputs, 16 latents, 3 steps) writes `cfg.json`
///   under the declared SAELens architecture with the declared cfg fields
///   and exactly the declared tensors (names and shapes);
/// - `encode` reads those weights back into `[rows, d_sae]` codes.
pub fn check_architecture(arch: &dyn Architecture) -> Result<()> {
    let spec = arch.spec();
    let d_in = 8;
    rdpbench_api::testing::check_sae_spec(&spec, |json| {
        TrainConfig::from_json_for(json, &spec)?.validate(d_in)
    })?;
    let d_sae = 16;
    let weights = train_on_toy(
        arch,
        d_in,
        serde_json::json!({"d_sae": d_sae, "steps": 3, "batch_size": 32, "eval_rows": 16}),
    )?;
    let cfg: serde_json::Value = serde_json::from_str(&weights.cfg_json)?;
    ensure!(
        cfg["architecture"] == spec.saelens_architecture.as_str(),
        "`{}` declares it saves as `{}` but cfg.json says {}",
        spec.id,
        spec.saelens_architecture,
        cfg["architecture"]
    );
    spec.validate_saelens_weights(&weights)?;
    // The declaration's order is the saving order; the trainer's may differ.
    let mut declared: Vec<&str> = spec
        .saelens
        .tensors
        .iter()
        .map(|t| t.name.as_str())
        .collect();
    let mut written: Vec<&str> = weights.tensors.iter().map(|t| t.name.as_str()).collect();
    declared.sort_unstable();
    written.sort_unstable();
    ensure!(
        declared == written,
        "`{}` declares SAELens tensors {declared:?} but writes {written:?}",
        spec.id
    );
    let rows = 4;
    let x = toy_rows(d_in).starting_at(1 << 20).take(rows);
    let codes = encode(arch, &weights, MatrixView::new(rows, d_in, &x)?)?;
    ensure!(
        (codes.n_rows, codes.n_cols) == (rows, d_sae),
        "`{}`: encode gave [{}, {}] codes, expected [{rows}, {d_sae}]",
        spec.id,
        codes.n_rows,
        codes.n_cols
    );
    Ok(())
}

/// What [`check_sparse_training`] compared.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SparseStepCheck {
    /// Steps compared.
    pub steps: usize,
    /// Steps on which latents were dead (the AuxK term was live).
    pub aux_steps: usize,
    /// The largest relative difference of the loss over all steps.
    pub worst_loss: f64,
    /// The largest difference of any parameter at the end, relative to
    /// the parameter's largest magnitude.
    pub worst_param: f64,
}

/// Checks an architecture's [`Architecture::sparse_training`] declaration:
/// from the same initialisation, on the same 100 batches of [`ToyRows`]
/// (48 concepts in 24 dimensions, 96 latents, batch 64, `k = 4`, latents
/// dead after 4 batches so the AuxK term is live), the hand-written step
/// and the architecture's `forward` through autograd give the same loss
/// and reconstruction error (relative difference `< 1e-4`) and the same L0
/// and dead-latent count at every step, and the same parameters at the end
/// (largest difference `< 1e-3` of the parameter's largest magnitude).
///
/// ```text
/// #[test]
/// fn sparse_step_matches_forward() {
///     rdpbench_train::testing::check_sparse_training(&MyArch).unwrap();
/// }
/// ```
pub fn check_sparse_training(arch: &dyn Architecture) -> Result<SparseStepCheck> {
    use crate::Session;
    use candle_core::{Device, Tensor};
    let (d_in, batch, steps) = (24, 64, 100);
    let config = TrainConfig {
        d_sae: 96,
        batch_size: batch,
        steps: steps as u64,
        lr: 3e-3,
        k: 4.0,
        dead_after_rows: 4 * batch as u64,
        aux_k: 16,
        aux_k_coefficient: 0.5,
        seed: 11,
        ..TrainConfig::default()
    };
    let mut fused = Session::new(arch, config.clone(), d_in)?;
    let mut reference = Session::new(arch, config, d_in)?;
    let id = arch.spec().id;
    ensure!(
        fused.uses_sparse_step(),
        "`{id}` declares no sparse training (or its parameters are not the standard four)"
    );
    reference.use_reference_step();
    let mut data = ToyRows::new(d_in, 48, 5);
    let rel = |u: f64, v: f64| (u - v).abs() / v.abs().max(1e-6);
    let mut check = SparseStepCheck {
        steps,
        aux_steps: 0,
        worst_loss: 0.0,
        worst_param: 0.0,
    };
    for t in 0..steps {
        let x = Tensor::from_vec(data.take(batch), (batch, d_in), &Device::Cpu)?;
        ensure!(
            fused.dead_count() == reference.dead_count(),
            "`{id}` step {t}: {} dead latents (sparse step) vs {} (forward)",
            fused.dead_count(),
            reference.dead_count()
        );
        check.aux_steps += usize::from(fused.dead_count() > 0);
        let a = fused.step(&x)?;
        let b = reference.step(&x)?;
        ensure!(
            rel(a.loss, b.loss) < 1e-4 && rel(a.sse_per_row, b.sse_per_row) < 1e-4,
            "`{id}` step {t}: loss {} / reconstruction {} (sparse step) vs {} / {} (forward)",
            a.loss,
            a.sse_per_row,
            b.loss,
            b.sse_per_row
        );
        ensure!(
            a.l0 == b.l0,
            "`{id}` step {t}: L0 {} (sparse step) vs {} (forward)",
            a.l0,
            b.l0
        );
        check.worst_loss = check.worst_loss.max(rel(a.loss, b.loss));
    }
    let (wa, wb) = (fused.export()?, reference.export()?);
    ensure!(
        wa.cfg_json == wb.cfg_json,
        "`{id}`: cfg.json differs between the two steps"
    );
    for ta in &wa.tensors {
        let tb = wb
            .tensors
            .iter()
            .find(|t| t.name == ta.name)
            .with_context(|| {
                format!("`{id}`: `{}` is missing from the forward's export", ta.name)
            })?;
        let scale = tb
            .data
            .iter()
            .map(|v| v.abs())
            .fold(0.0f32, f32::max)
            .max(1e-6);
        let worst = ta
            .data
            .iter()
            .zip(&tb.data)
            .map(|(u, v)| (u - v).abs())
            .fold(0.0f32, f32::max);
        let worst = f64::from(worst / scale);
        ensure!(
            worst < 1e-3,
            "`{id}`: after {steps} steps `{}` differs by {worst:.2e} of its largest magnitude",
            ta.name
        );
        check.worst_param = check.worst_param.max(worst);
    }
    ensure!(
        check.aux_steps >= steps / 5,
        "`{id}`: AuxK was live on only {} of {steps} steps; the check needs dead latents",
        check.aux_steps
    );
    Ok(check)
}

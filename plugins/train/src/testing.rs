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

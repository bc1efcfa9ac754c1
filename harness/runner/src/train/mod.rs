//! Training SAEs through architecture plugins on the toy data source, and
//! scoring them against the toy ground truth.
//!
//! The host streams batches to the plugin (which runs the SDK's candle loop
//! inside itself) through [`rdpbench_sdk::BatchSource`]. Data streams: the
//! training draw of seed `s` is toy draw `TRAIN_DRAW + s`; evaluation uses
//! the separate draw [`EVAL_DRAW`], so scores are on unseen rows.

mod sharded;
mod sweep;

pub use rdpbench_schema::results::train::{
    JobOutcome, Sparsity, SweepSummary, TRAIN_SCHEMA_VERSION, ToyEval, TrainJob,
};
pub use rdpbench_schema::settings::TrainSettings;
pub use sharded::{merge_sweep, merged_outcomes, run_sweep_shard, sweep_plan};
pub use sweep::{finished_job, jobs, run_job, run_sweep, validate_jobs};

use anyhow::{Context, Result, ensure};
use rdpbench_core::toy::{GroundTruthOptions, ToyModel, p_gt, reconstruct, recovery_scores};
use rdpbench_sdk::data::DenseMatrix;
use rdpbench_sdk::train::distortion::Distortion;
use rdpbench_sdk::{BatchSource, SaeArchitecture, SaeWeights, TrainObserver, TrainRequest};

/// First toy draw of training data (plus the job seed).
pub const TRAIN_DRAW: u64 = 0x5452_4149_4e00; // "TRAIN\0"
/// The toy draw that evaluation reads.
pub const EVAL_DRAW: u64 = 0x4556_414c; // "EVAL"

/// An unbounded stream of toy observations `x` (rows of one draw, in order).
#[derive(Debug)]
pub struct ToySource<'a> {
    model: &'a ToyModel,
    data_seed: u64,
    next: u64,
}

impl<'a> ToySource<'a> {
    pub fn new(model: &'a ToyModel, data_seed: u64) -> Self {
        Self {
            model,
            data_seed,
            next: 0,
        }
    }
}

impl BatchSource for ToySource<'_> {
    fn d_in(&self) -> usize {
        self.model.d()
    }
    fn next_batch(&mut self, out: &mut [f32], rows: usize) -> Result<usize> {
        let s = self.model.sample(self.data_seed, self.next, rows);
        out[..s.x.data.len()].copy_from_slice(&s.x.data);
        self.next += rows as u64;
        Ok(rows)
    }
}

/// Merges JSON objects left to right (later keys win).
pub fn merge_objects<'a>(
    layers: impl IntoIterator<Item = &'a serde_json::Value>,
) -> serde_json::Value {
    let mut out = serde_json::Map::new();
    for l in layers {
        if let Some(o) = l.as_object() {
            for (k, v) in o {
                out.insert(k.clone(), v.clone());
            }
        }
    }
    serde_json::Value::Object(out)
}

/// The configuration a plugin is trained with: `hyperparameters` merged
/// over the spec's defaults, whole numbers given for an integer
/// hyperparameter (TOML writes `4.0` as readily as `4`) made integers, and
/// every declared hyperparameter checked against its type and range; the
/// error names the architecture and the field.
pub fn training_config(
    spec: &rdpbench_sdk::SaeSpec,
    hyperparameters: &serde_json::Value,
) -> Result<serde_json::Value> {
    let mut config = merge_objects([&spec.default_hyperparameters, hyperparameters]);
    if let Some(obj) = config.as_object_mut() {
        for h in &spec.hyperparameters {
            if h.kind == rdpbench_sdk::sae::ValueType::Int
                && let Some(v) = obj.get_mut(&h.name)
                && let Some(x) = v.as_f64()
                && !(v.is_i64() || v.is_u64())
                && x.fract() == 0.0
                && x.abs() < 9.0e15
            {
                *v = (x as i64).into();
            }
        }
    }
    spec.validate_hyperparameters(&config)?;
    Ok(config)
}

/// Trains one SAE on the toy model's training draw `TRAIN_DRAW + seed` with
/// `hyperparameters` (merged over the architecture's defaults), and records
/// the toy data source in the `cfg.json` metadata (`model_name`
/// `rdpbench-toy`, `hook_name` `toy.x`, `rdpbench_toy`).
pub fn train_on_toy(
    sae: &dyn SaeArchitecture,
    model: &ToyModel,
    hyperparameters: &serde_json::Value,
    seed: u64,
    observer: &mut dyn TrainObserver,
) -> Result<SaeWeights> {
    let config = training_config(&sae.spec(), hyperparameters)?;
    let data_seed = TRAIN_DRAW + seed;
    let mut source = ToySource::new(model, data_seed);
    let config_text = config.to_string();
    let mut weights = sae.train(TrainRequest {
        config: &config_text,
        data: &mut source,
        observer,
    })?;
    let mut cfg: serde_json::Value = serde_json::from_str(&weights.cfg_json)
        .context("the plugin returned an invalid cfg.json")?;
    if let Some(meta) = cfg.get_mut("metadata").and_then(|m| m.as_object_mut()) {
        meta.insert("model_name".into(), "rdpbench-toy".into());
        meta.insert("hook_name".into(), "toy.x".into());
        meta.insert(
            "rdpbench_toy".into(),
            serde_json::json!({ "config": model.config(), "seed": model.seed(), "data_seed": data_seed }),
        );
    }
    weights.cfg_json = serde_json::to_string_pretty(&cfg)?;
    Ok(weights)
}

/// A named tensor as a dense matrix.
pub fn matrix(w: &SaeWeights, name: &str) -> Result<DenseMatrix> {
    let t = w.tensor(name)?;
    ensure!(
        t.shape.len() == 2,
        "tensor `{name}` has shape {:?}, expected 2-d",
        t.shape
    );
    DenseMatrix::from_vec(t.shape[0], t.shape[1], t.data.clone())
}

/// Encodes `n` rows of the evaluation draw and scores the SAE.
pub fn evaluate_on_toy(
    sae: &dyn SaeArchitecture,
    weights: &SaeWeights,
    model: &ToyModel,
    n: usize,
) -> Result<ToyEval> {
    let samples = model.sample(EVAL_DRAW, 0, n);
    let codes = sae.encode(weights, samples.x.view())?;
    let decoder = matrix(weights, "W_dec")?;
    let b_dec = &weights.tensor("b_dec")?.data;
    let mut x_hat = reconstruct(&codes, &decoder);
    for r in 0..x_hat.rows {
        for (v, b) in x_hat.row_mut(r).iter_mut().zip(b_dec) {
            *v += b;
        }
    }
    let mut acc = Distortion::new(samples.x.cols);
    acc.add(&samples.x.data, &x_hat.data);
    acc.add_nonzeros(codes.values.iter().filter(|v| **v != 0.0).count() as u64);
    let rec = recovery_scores(model.directions(), &decoder, &codes, &samples.z)?;
    let gt = p_gt(
        model.directions(),
        &decoder,
        &codes,
        &samples.z,
        &GroundTruthOptions::default(),
    )?;
    Ok(ToyEval {
        n_samples: n,
        explained_variance: acc.explained_variance(),
        mse: acc.mse(),
        l0: acc.l0(),
        mcc: rec.mcc,
        mmcs: rec.mmcs,
        p_gt: gt.p_gt,
        polysemantic_fraction: gt.polysemantic_fraction,
        n_live: rec.n_live,
        d_sae: decoder.rows,
    })
}

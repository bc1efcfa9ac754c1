//! Training (or resuming) SAEs on planted data and evaluating them on
//! held-out planted rows.
//!
//! A job is a validity-population job ([`population_jobs`]) whose toy is
//! planted: same ids, architectures, sparsity levels, co-occurrence levels
//! and seeds, with `[planted]`'s width, steps, batch size and learning
//! rate. Its SAELens folder records the job and the background's identity
//! in `cfg.json` (`metadata.rdpbench_planted_job`); a finished folder with
//! the same record is reused, never retrained.

use super::data::{Background, PlantedSource};
use crate::progress::{Progress, TrainSteps, UnitKind};
use crate::train::{EVAL_DRAW, TRAIN_DRAW, finished_job, matrix, training_config};
use crate::validity::{PopulationJob, population_jobs};
use anyhow::{Context, Result};
use rdpbench_core::planted::{Planting, planted_p_gt};
use rdpbench_core::rng::Rng;
use rdpbench_core::toy::{EvalCase, GroundTruthOptions, ToyConfig, ToyModel, recovery_scores};
use rdpbench_plugin_host::{PluginSet, saelens};
use rdpbench_schema::results::planted::PlantedSaeRow;
use rdpbench_schema::settings::{PlantedSettings, ValiditySettings};
use rdpbench_sdk::train::distortion::Distortion;
use rdpbench_sdk::{SaeArchitecture, SaeWeights, TrainRequest};
use std::path::Path;

/// Stream tag of the background row order.
const TAG_ORDER: u64 = 0x504c_4f52; // "PLOR"

/// The population `validity` describes, at `[planted]`'s training settings.
pub fn planted_jobs(
    validity: &ValiditySettings,
    settings: &PlantedSettings,
    plugins: &PluginSet,
) -> Result<Vec<PopulationJob>> {
    let mut hyperparameters = validity.hyperparameters.clone();
    hyperparameters.extend(settings.hyperparameters.clone());
    let s = ValiditySettings {
        d_sae: settings.d_sae,
        steps: settings.steps,
        batch_size: settings.batch_size,
        lr: settings.lr,
        hyperparameters,
        ..validity.clone()
    };
    population_jobs(&s, &|a| plugins.sparsity_knob(a))
}

/// Toys are planted without noise of their own: the background is the noise.
pub fn planted_toy(toy: &ToyConfig) -> ToyConfig {
    ToyConfig {
        noise_sigma: 0.0,
        ..toy.clone()
    }
}

/// One trained (or reused) planted SAE and its held-out case.
#[derive(Debug, Clone)]
pub struct PlantedSae {
    pub row: PlantedSaeRow,
    pub case: EvalCase,
    pub trained: bool,
}

/// Trains (or reuses) every job into `dir/<job id>` and evaluates it.
pub fn train_and_evaluate(
    plugins: &PluginSet,
    jobs: &[PopulationJob],
    background: &Background,
    planting: &Planting,
    settings: &PlantedSettings,
    dir: &Path,
    observer: &mut dyn Progress,
) -> Result<Vec<PlantedSae>> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut out = Vec::with_capacity(jobs.len());
    for (i, p) in jobs.iter().enumerate() {
        let job = &p.job;
        let sae = plugins.sae(&job.architecture)?;
        let model = ToyModel::new(&planted_toy(&job.toy), job.toy_seed)
            .with_context(|| format!("planted job `{}`: its toy", job.id))?;
        let record = serde_json::json!({
            "job": job,
            "background": background.info,
            "subspace": planting.subspace.choice,
            "magnitude": settings.magnitude,
            "seed": settings.seed,
        });
        let folder = dir.join(&job.id);
        let finished = finished_job(&folder, plugins, "rdpbench_planted_job", &record, &job.id)?;
        observer.unit(
            if finished.is_some() {
                UnitKind::Reuse
            } else {
                UnitKind::Train
            },
            i,
            jobs.len(),
            &job.id,
        );
        let (weights, trained) = match finished {
            Some(w) => (w, false),
            None => {
                let w = train_one(
                    sae,
                    &job.hyperparameters,
                    job.seed,
                    &model,
                    background,
                    planting,
                    settings,
                    &record,
                    observer,
                )
                .with_context(|| format!("training planted SAE `{}`", job.id))?;
                saelens::save(&folder, &w, &sae.cached_spec().saelens)?;
                (w, true)
            }
        };
        let (case, quality) = evaluate(sae, &weights, &model, background, planting)
            .with_context(|| format!("evaluating planted SAE `{}`", job.id))?;
        let planted = planted_p_gt(
            &case.directions,
            &case.decoder,
            &case.codes,
            &case.labels,
            &GroundTruthOptions::default(),
            settings.background_residual,
        )?;
        let rec = recovery_scores(&case.directions, &case.decoder, &case.codes, &case.labels)?;
        out.push(PlantedSae {
            row: PlantedSaeRow {
                sae_id: job.id.clone(),
                architecture: job.architecture.clone(),
                sparsity: job.sparsity.clone(),
                q_factor: p.q_factor,
                seed: job.seed,
                config_index: p.config_index,
                d_sae: job.d_sae,
                l0: quality.l0(),
                explained_variance: quality.explained_variance(),
                mse: quality.mse(),
                planted,
                mcc: rec.mcc,
                mean_f1: rec.mean_f1,
            },
            case,
            trained,
        });
    }
    Ok(out)
}

/// Trains `sae` on planted rows: background rows in a seeded order (per
/// training seed) plus the toy's training draw, embedded.
#[allow(clippy::too_many_arguments)]
pub fn train_one(
    sae: &dyn SaeArchitecture,
    hyperparameters: &serde_json::Value,
    seed: u64,
    model: &ToyModel,
    background: &Background,
    planting: &Planting,
    settings: &PlantedSettings,
    record: &serde_json::Value,
    observer: &mut dyn Progress,
) -> Result<SaeWeights> {
    let config = training_config(&sae.spec(), hyperparameters)?;
    let mut source = PlantedSource::new(
        &background.train,
        model,
        planting,
        TRAIN_DRAW + seed,
        Rng::derive(settings.seed, &[TAG_ORDER, seed]).permutation(background.train.rows),
    )?;
    let config_text = config.to_string();
    let mut weights = sae.train(TrainRequest {
        config: &config_text,
        data: &mut source,
        observer: &mut TrainSteps(observer),
    })?;
    let mut cfg: serde_json::Value = serde_json::from_str(&weights.cfg_json)
        .context("the plugin returned an invalid cfg.json")?;
    if let Some(meta) = cfg.get_mut("metadata").and_then(|m| m.as_object_mut()) {
        meta.insert("model_name".into(), "rdpbench-planted".into());
        meta.insert("hook_name".into(), "planted.x".into());
        meta.insert("rdpbench_planted_job".into(), record.clone());
    }
    weights.cfg_json = serde_json::to_string_pretty(&cfg)?;
    Ok(weights)
}

/// The held-out case of `weights` (toy draw [`EVAL_DRAW`] rows `0..n`
/// planted on the `n` held-out background rows) and its rate/distortion.
pub fn evaluate(
    sae: &dyn SaeArchitecture,
    weights: &SaeWeights,
    model: &ToyModel,
    background: &Background,
    planting: &Planting,
) -> Result<(EvalCase, Distortion)> {
    let n = background.eval.rows;
    let toy = model.sample(EVAL_DRAW, 0, n);
    let directions = planting.embed(model.directions())?;
    // x' = background + s · Σ_i c_i v_i (sparse: O(nnz · d)).
    let signal = toy.noiseless(&directions);
    let mut x = background.eval.clone();
    for (o, &v) in x.data.iter_mut().zip(&signal.data) {
        *o = (*o as f64 + planting.scale * v as f64) as f32;
    }
    let mut acc = Distortion::new(x.cols);
    let Encoded {
        codes,
        decoder,
        encoder,
    } = encode_rows(sae, weights, &x, &mut acc)?;
    let case = EvalCase {
        decoder,
        encoder,
        activations: x,
        codes,
        labels: toy.z,
        directions,
    };
    case.validate()?;
    Ok((case, acc))
}

/// An SAE's code of some rows.
#[derive(Debug, Clone)]
pub struct Encoded {
    /// `[n, d_sae]`.
    pub codes: rdpbench_sdk::data::CsrMatrix,
    /// `W_dec: [d_sae, d]`.
    pub decoder: rdpbench_sdk::data::DenseMatrix,
    /// `W_enc: [d, d_sae]`, when the SAE has one.
    pub encoder: Option<rdpbench_sdk::data::DenseMatrix>,
}

/// Encodes `x: [n, d]` with `weights`, adding the rate and the distortion
/// of `x̂ = codes · W_dec + b_dec` to `acc`.
pub fn encode_rows(
    sae: &dyn SaeArchitecture,
    weights: &SaeWeights,
    x: &rdpbench_sdk::data::DenseMatrix,
    acc: &mut Distortion,
) -> Result<Encoded> {
    let codes = sae.encode(weights, x.view())?;
    let decoder = matrix(weights, "W_dec")?;
    let encoder = weights
        .tensor("W_enc")
        .is_ok()
        .then(|| matrix(weights, "W_enc"))
        .transpose()?;
    let b_dec = &weights.tensor("b_dec")?.data;
    let mut x_hat = rdpbench_core::toy::reconstruct(&codes, &decoder);
    for r in 0..x_hat.rows {
        for (v, b) in x_hat.row_mut(r).iter_mut().zip(b_dec) {
            *v += b;
        }
    }
    acc.add(&x.data, &x_hat.data);
    acc.add_nonzeros(codes.values.iter().filter(|v| **v != 0.0).count() as u64);
    Ok(Encoded {
        codes,
        decoder,
        encoder,
    })
}

//! Training (or resuming) the real-data sweep: one SAELens folder per job
//! under the sweep folder. A job whose folder exists with the same job
//! record in its `cfg.json` metadata (`rdpbench_real_job`) is finished and
//! never retrained; a folder with another record is an error (never
//! silently overwritten).

use super::source::CacheTrainingSet;
use crate::progress::{Progress, TrainSteps, UnitKind};
use crate::train::{TrainSettings, jobs, training_config};
use anyhow::{Context, Result};
use rdpbench_core::toy::ToyConfig;
use rdpbench_lm::activation_cache::Manifest;
use rdpbench_plugin_host::PluginSet;
use rdpbench_plugin_host::saelens;
use rdpbench_schema::results::real::{CacheIdentity, RealJob};
use rdpbench_schema::settings::RealSettings;
use rdpbench_sdk::{SaeArchitecture, SaeWeights, TrainObserver, TrainRequest};
use std::path::{Path, PathBuf};

/// The identity of the cache described by `m`.
pub fn cache_identity(m: &Manifest) -> CacheIdentity {
    CacheIdentity {
        model_file: m.model_file.clone(),
        model_sha256: m.model_sha256.clone(),
        corpus: m.corpus.clone(),
        layer: m.layer,
        seq_len: m.seq_len,
        shards: m.shards.iter().map(|s| s.sha256.clone()).collect(),
    }
}

/// A training sweep of `settings` at width `width_factor · d_in`, for the
/// sweep's shared job builder ([`crate::train::jobs`]).
pub fn sweep_settings(settings: &RealSettings, d_in: usize, steps: u64) -> TrainSettings {
    TrainSettings {
        architectures: settings.architectures.clone(),
        widths: vec![settings.width_factor * d_in],
        sparsity: settings.sparsity.clone(),
        seeds: vec![settings.seed],
        steps,
        batch_size: settings.batch_size,
        lr: settings.lr,
        eval_every: 0,
        hyperparameters: settings.hyperparameters.clone(),
        ..TrainSettings::default()
    }
}

/// The real jobs, in the order of [`crate::train::jobs`] (same ids and
/// hyperparameters as a toy sweep of the same settings).
pub fn real_jobs(
    settings: &RealSettings,
    set: &CacheTrainingSet,
    knob_of: &dyn Fn(&str) -> Result<String>,
) -> Result<Vec<RealJob>> {
    let m = set.manifest();
    let ts = sweep_settings(settings, m.d_model, settings.steps);
    let split = set.split();
    Ok(jobs(&ts, &ToyConfig::default(), knob_of)
        .map_err(|e| e.context("[real]"))?
        .into_iter()
        .map(|j| RealJob {
            id: j.id,
            architecture: j.architecture,
            d_sae: j.d_sae,
            sparsity: j.sparsity,
            seed: j.seed,
            hyperparameters: j.hyperparameters,
            cache: cache_identity(m),
            split,
            activation_scale: f64::from(set.scale()),
        })
        .collect())
}

/// The name of the model a cache was extracted from, for `cfg.json`'s
/// `model_name` and the report, by the manifest's model kind: SmolLM2's GGUF
/// file name up to its first dot (`SmolLM2-135M-Instruct.Q4_1.gguf` →
/// `SmolLM2-135M-Instruct`), `all-MiniLM-L6-v2` for MiniLM (whose weights
/// file is just `model.safetensors`), else the kind itself.
pub fn model_name(m: &Manifest) -> String {
    match m.model.as_str() {
        "smollm2" => m
            .model_file
            .split('.')
            .next()
            .unwrap_or(&m.model_file)
            .to_string(),
        "minilm" => "all-MiniLM-L6-v2".to_string(),
        other => other.to_string(),
    }
}

/// A trained (or reused) real SAE.
#[derive(Debug, Clone)]
pub struct TrainedReal {
    pub job: RealJob,
    pub folder: PathBuf,
    pub weights: SaeWeights,
    /// `false` when a finished folder was found (resume).
    pub trained: bool,
}

/// Trains `sae` on a fresh stream of `set` (seed = the job's seed) and
/// records the data source in the `cfg.json` metadata: `model_name`,
/// `hook_name` `blocks.{layer}.hook_resid_post`, `rdpbench_real` (cache
/// folder, corpus, activation scale) and the job record.
fn train_one(
    sae: &dyn SaeArchitecture,
    job: &RealJob,
    set: &CacheTrainingSet,
    cache_dir: &Path,
    observer: &mut dyn TrainObserver,
) -> Result<SaeWeights> {
    let config = training_config(&sae.spec(), &job.hyperparameters)?;
    let mut source = set.stream(job.seed);
    let config_text = config.to_string();
    let mut weights = sae.train(TrainRequest {
        config: &config_text,
        data: &mut source,
        observer,
    })?;
    let mut cfg: serde_json::Value = serde_json::from_str(&weights.cfg_json)
        .context("the plugin returned an invalid cfg.json")?;
    let m = set.manifest();
    if let Some(meta) = cfg.get_mut("metadata").and_then(|m| m.as_object_mut()) {
        meta.insert("model_name".into(), model_name(m).into());
        meta.insert(
            "hook_name".into(),
            format!("blocks.{}.hook_resid_post", m.layer).into(),
        );
        meta.insert(
            "rdpbench_real".into(),
            serde_json::json!({
                "cache": cache_dir.display().to_string(),
                "corpus": m.corpus,
                "activation_scale": job.activation_scale,
                "note": "inputs are multiplied by activation_scale before encoding",
            }),
        );
        meta.insert("rdpbench_real_job".into(), serde_json::to_value(job)?);
    }
    weights.cfg_json = serde_json::to_string_pretty(&cfg)?;
    Ok(weights)
}

/// Runs (or resumes) the real sweep into `dir`.
pub fn run_real_sweep(
    plugins: &PluginSet,
    jobs: &[RealJob],
    set: &CacheTrainingSet,
    cache_dir: &Path,
    dir: &Path,
    observer: &mut dyn Progress,
) -> Result<Vec<TrainedReal>> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut out = Vec::new();
    for (i, job) in jobs.iter().enumerate() {
        let sae = plugins
            .saes
            .iter()
            .find(|s| s.id() == job.architecture)
            .with_context(|| {
                let have: Vec<&str> = plugins.saes.iter().map(|s| s.id()).collect();
                format!(
                    "[real].architectures names `{}` but no such SAE plugin is loaded (loaded: {have:?})",
                    job.architecture
                )
            })?;
        let folder = dir.join(&job.id);
        let record = serde_json::to_value(job)?;
        let finished =
            crate::train::finished_job(&folder, plugins, "rdpbench_real_job", &record, &job.id)?;
        let kind = if finished.is_some() {
            UnitKind::Reuse
        } else {
            UnitKind::Train
        };
        observer.unit(kind, i, jobs.len(), &job.id);
        let (weights, trained) = match finished {
            Some(w) => (w, false),
            None => {
                let w = train_one(sae, job, set, cache_dir, &mut TrainSteps(&mut *observer))
                    .with_context(|| format!("training `{}` on {}", job.id, cache_dir.display()))?;
                saelens::save(&folder, &w, &sae.cached_spec().saelens)?;
                (w, true)
            }
        };
        out.push(TrainedReal {
            job: job.clone(),
            folder,
            weights,
            trained,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest(model: &str, model_file: &str) -> Manifest {
        Manifest {
            schema_version: 1,
            model: model.into(),
            model_file: model_file.into(),
            model_sha256: String::new(),
            d_model: 4,
            corpus: "brown".into(),
            n_documents: 0,
            token_label_names: Vec::new(),
            doc_label_names: Vec::new(),
            layer: 0,
            seq_len: 8,
            shards: Vec::new(),
            n_tokens: 0,
            complete: true,
        }
    }

    #[test]
    fn the_model_name_follows_the_manifests_model_kind() {
        let smol = manifest("smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf");
        assert_eq!(model_name(&smol), "SmolLM2-135M-Instruct");
        let mini = manifest("minilm", "model.safetensors");
        assert_eq!(model_name(&mini), "all-MiniLM-L6-v2");
        assert_eq!(model_name(&manifest("other", "w.bin")), "other");
    }
}

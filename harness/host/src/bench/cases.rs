//! The inputs benchmarked: one [`EvalCase`] per (SAE, N).
//!
//! SAEs come as SAELens folders, trained here for the `[bench]` widths
//! ([`train_bench_saes`]) or given by the user. Each is evaluated on the
//! first `N` rows of the toy evaluation draw ([`crate::train::EVAL_DRAW`]) of
//! the toy model it was trained on (from `cfg.json`'s
//! `metadata.rdpbench_toy`), or, for a folder trained elsewhere, of the
//! configured `[toy]` model with `d` set to the SAE's `d_in`: runtime depends
//! on the shapes and the sparsity of the codes, not on where the rows came
//! from. Codes come from the SAE's own encoder, through the architecture
//! plugin that matches `cfg.json`'s `architecture`.

use super::results::BenchSae;
use super::settings::BenchSettings;
use crate::plugin::PluginSet;
use crate::saelens::{self, SaeFolder};
use crate::train::{EVAL_DRAW, SweepObserver, TrainSettings, jobs, matrix, run_sweep};
use anyhow::{Context, Result};
use rdpbench_core::toy::{EvalCase, ToyConfig, ToyModel};
use rdpbench_sdk::SaeArchitecture;
use std::path::{Path, PathBuf};

/// One benchmarked input: an SAE at one token count.
#[derive(Debug, Clone)]
pub struct BenchCase {
    /// Index into the benchmarked SAEs.
    pub sae: usize,
    pub d_sae: usize,
    pub n_tokens: usize,
    /// Criterion's parameter string, unique within a metric's group.
    pub label: String,
    pub case: EvalCase,
}

/// Trains (or resumes) one SAE per `[bench].widths` entry into `dir`
/// through the training sweep, and returns their folders in width order.
pub fn train_bench_saes(
    plugins: &PluginSet,
    bench: &BenchSettings,
    train: &TrainSettings,
    toy: &ToyConfig,
    dir: &Path,
    observer: &mut dyn SweepObserver,
) -> Result<Vec<PathBuf>> {
    let settings = TrainSettings {
        architectures: vec![bench.architecture.clone()],
        widths: bench.widths.clone(),
        k: vec![bench.k],
        l1_coefficient: train.l1_coefficient.iter().take(1).copied().collect(),
        l0_coefficient: train.l0_coefficient.iter().take(1).copied().collect(),
        seeds: vec![0],
        steps: bench.train_steps,
        eval_every: 0,
        eval_samples: 2048,
        ..train.clone()
    };
    let jobs = jobs(&settings, toy).context("[bench]: cannot plan the benchmark SAEs")?;
    let summary = run_sweep(plugins, &jobs, settings.eval_samples, dir, observer)
        .context("training the benchmark SAEs")?;
    Ok(summary.jobs.into_iter().map(|o| o.folder).collect())
}

/// The toy model a folder's SAE was trained on, else `fallback` with `d = d_in`.
fn toy_of(folder: &SaeFolder, fallback: &ToyConfig) -> Result<ToyModel> {
    let meta = folder.cfg.pointer("/metadata/rdpbench_toy");
    if let Some(meta) = meta {
        let config: ToyConfig =
            serde_json::from_value(meta["config"].clone()).with_context(|| {
                format!(
                    "{}: metadata.rdpbench_toy.config is not a toy configuration",
                    folder.path.join(saelens::CFG_FILE).display()
                )
            })?;
        let seed = meta["seed"].as_u64().unwrap_or(0);
        return ToyModel::new(&config, seed);
    }
    let config = ToyConfig {
        d: folder.d_in,
        n_concepts: fallback.n_concepts.min(folder.d_in),
        ..fallback.clone()
    };
    ToyModel::new(&config, 0).with_context(|| {
        format!(
            "{}: no rdpbench toy metadata, and the [toy] model with d = d_in = {} is not valid",
            folder.path.display(),
            folder.d_in
        )
    })
}

/// Loads the folders and builds one case per (folder, N).
pub fn build_cases(
    plugins: &PluginSet,
    folders: &[PathBuf],
    n_tokens: &[usize],
    fallback_toy: &ToyConfig,
) -> Result<(Vec<BenchSae>, Vec<BenchCase>)> {
    let mut saes = Vec::new();
    let mut cases = Vec::new();
    let loaded: Vec<SaeFolder> = folders
        .iter()
        .map(|f| saelens::load(f))
        .collect::<Result<_>>()?;
    for (i, folder) in loaded.iter().enumerate() {
        let plugin_id = saelens::plugin_for(&folder.architecture)
            .with_context(|| format!("{}", folder.path.display()))?;
        let sae = plugins
            .saes
            .iter()
            .find(|s| s.id() == plugin_id)
            .with_context(|| {
                format!(
                    "{}: architecture `{}` needs the `{plugin_id}` SAE plugin to encode, and it is not loaded; build the plugins with `cargo build --release --workspace`",
                    folder.path.display(),
                    folder.architecture
                )
            })?;
        let model = toy_of(folder, fallback_toy)?;
        let decoder = matrix(&folder.weights, "W_dec")?;
        let encoder = matrix(&folder.weights, "W_enc")?;
        let same_width = loaded.iter().filter(|f| f.d_sae == folder.d_sae).count() > 1;
        for &n in n_tokens {
            let samples = model.sample(EVAL_DRAW, 0, n);
            let codes = sae
                .encode(&folder.weights, samples.x.view())
                .with_context(|| format!("encoding {} rows with {}", n, folder.path.display()))?;
            let mut label = format!("d_sae={} N={n}", folder.d_sae);
            if same_width {
                label.push_str(&format!(" sae={i}"));
            }
            cases.push(BenchCase {
                sae: i,
                d_sae: folder.d_sae,
                n_tokens: n,
                label,
                case: EvalCase {
                    decoder: decoder.clone(),
                    encoder: Some(encoder.clone()),
                    activations: samples.x,
                    codes,
                    labels: samples.z,
                    directions: model.directions().clone(),
                },
            });
        }
        saes.push(BenchSae {
            folder: folder.path.clone(),
            architecture: folder.architecture.clone(),
            d_in: folder.d_in,
            d_sae: folder.d_sae,
        });
    }
    Ok((saes, cases))
}

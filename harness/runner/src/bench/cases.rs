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
//!
//! With an activation cache ([`BenchRows::Cache`], `bench --cache`), the
//! rows are instead the first `N` held-out rows of the cache (real text),
//! split and scaled as the SAE's `rdpbench real` job record says, labelled
//! with the cache's token labels. Real data has no true directions, so
//! those are a zero placeholder and oracle metrics are not benchmarked.

use crate::progress::Progress;
use crate::real::{DocumentSplit, HeldOut, RealJob, RealSettings, load_held_out, open_manifest};
use crate::train::{EVAL_DRAW, TrainSettings, jobs, matrix, run_sweep};
use anyhow::{Context, Result};
use rdpbench_core::toy::{EvalCase, ToyConfig, ToyModel};
use rdpbench_plugin_host::PluginSet;
use rdpbench_plugin_host::saelens::{self, SaeFolder};
use rdpbench_schema::results::bench::BenchSae;
use rdpbench_schema::settings::BenchSettings;
use rdpbench_sdk::{CsrMatrix, DenseMatrix};
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
    observer: &mut dyn Progress,
) -> Result<Vec<PathBuf>> {
    let settings = TrainSettings {
        architectures: vec![bench.architecture.clone()],
        widths: bench.widths.clone(),
        sparsity: [(bench.architecture.clone(), vec![bench.sparsity])].into(),
        seeds: vec![0],
        steps: bench.train_steps,
        eval_every: 0,
        eval_samples: 2048,
        ..train.clone()
    };
    let jobs = jobs(&settings, toy, &|a| plugins.sparsity_knob(a))
        .context("[bench]: cannot plan the benchmark SAEs")?;
    observer.phase("benchmark SAE");
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

/// Where the benchmarked rows come from.
#[derive(Debug, Clone, Copy)]
pub enum BenchRows<'a> {
    /// Toy draws: the SAE's own toy model, else this one with `d = d_in`.
    Toy(&'a ToyConfig),
    /// The held-out rows of the activation cache in `dir`. An SAE without
    /// an `rdpbench real` job record (trained elsewhere) gets `real`'s
    /// split without a norm filter and unscaled rows.
    Cache {
        dir: &'a Path,
        real: &'a RealSettings,
    },
}

/// The split and scale of the rows an SAE was trained on: from its
/// `metadata.rdpbench_real_job`, else `real`'s split, no norm filter, scale 1.
fn real_rows_of(folder: &SaeFolder, real: &RealSettings) -> Result<(DocumentSplit, f32)> {
    match folder.cfg.pointer("/metadata/rdpbench_real_job") {
        Some(record) => {
            let job: RealJob = serde_json::from_value(record.clone()).with_context(|| {
                format!(
                    "{}: metadata.rdpbench_real_job is not an rdpbench real job record",
                    folder.path.join(saelens::CFG_FILE).display()
                )
            })?;
            Ok((job.split, job.activation_scale as f32))
        }
        None => Ok((
            DocumentSplit {
                held_out_every: real.held_out_every,
                min_position: real.min_position,
                max_norm: None,
            },
            1.0,
        )),
    }
}

/// The held-out rows of a cache, loaded once per (split, scale).
struct HeldOutRows<'a> {
    dir: &'a Path,
    real: &'a RealSettings,
    d_model: usize,
    max_tokens: usize,
    loaded: Vec<((DocumentSplit, f32), HeldOut)>,
}

impl<'a> HeldOutRows<'a> {
    fn open(dir: &'a Path, real: &'a RealSettings, max_tokens: usize) -> Result<Self> {
        let d_model = open_manifest(dir)?.d_model;
        Ok(Self {
            dir,
            real,
            d_model,
            max_tokens,
            loaded: Vec::new(),
        })
    }

    fn rows_for(&mut self, folder: &SaeFolder) -> Result<&HeldOut> {
        anyhow::ensure!(
            folder.d_in == self.d_model,
            "{}: the SAE's d_in = {} but the activation cache {} has d_model = {}",
            folder.path.display(),
            folder.d_in,
            self.dir.display(),
            self.d_model
        );
        let key = real_rows_of(folder, self.real)?;
        let at = match self.loaded.iter().position(|(k, _)| *k == key) {
            Some(i) => i,
            None => {
                let held = load_held_out(
                    self.dir,
                    key.0,
                    self.max_tokens,
                    self.real.bootstrap_seed,
                    key.1,
                )?;
                self.loaded.push((key, held));
                self.loaded.len() - 1
            }
        };
        Ok(&self.loaded[at].1)
    }
}

/// The rows of one SAE's cases.
enum SaeRows<'h> {
    Toy(Box<ToyModel>),
    Cache { held: &'h HeldOut, dir: &'h Path },
}

impl SaeRows<'_> {
    /// The evaluation case of `n` rows; codes, decoder and encoder are
    /// filled in by the caller. Cache rows: the first `n` held-out rows, or
    /// an error naming how many there are.
    fn case(&self, n: usize) -> Result<EvalCase> {
        match self {
            SaeRows::Toy(model) => {
                let samples = model.sample(EVAL_DRAW, 0, n);
                Ok(EvalCase {
                    decoder: DenseMatrix::zeros(0, 0),
                    encoder: None,
                    activations: samples.x,
                    codes: CsrMatrix::with_cols(0),
                    labels: samples.z,
                    directions: model.directions().clone(),
                })
            }
            SaeRows::Cache { held, dir } => {
                anyhow::ensure!(
                    n <= held.n_tokens(),
                    "activation cache {}: N = {n} but only {} held-out rows are there; lower \
                     --n-tokens or extract more tokens",
                    dir.display(),
                    held.n_tokens()
                );
                let rows = held.first_rows(n);
                let d = rows.activations.cols;
                Ok(EvalCase {
                    decoder: DenseMatrix::zeros(0, d),
                    encoder: None,
                    activations: rows.activations,
                    codes: CsrMatrix::with_cols(0),
                    labels: rows.labels,
                    directions: DenseMatrix::zeros(held.labels.n_cols, d),
                })
            }
        }
    }
}

/// [`BenchRows`] with the cache's held-out rows loaded as needed.
enum RowSource<'a> {
    Toy(&'a ToyConfig),
    Cache(HeldOutRows<'a>),
}

impl<'a> RowSource<'a> {
    fn new(rows: BenchRows<'a>, max_tokens: usize) -> Result<Self> {
        Ok(match rows {
            BenchRows::Toy(fallback) => RowSource::Toy(fallback),
            BenchRows::Cache { dir, real } => {
                RowSource::Cache(HeldOutRows::open(dir, real, max_tokens)?)
            }
        })
    }

    fn rows_for(&mut self, folder: &SaeFolder) -> Result<SaeRows<'_>> {
        Ok(match self {
            RowSource::Toy(fallback) => SaeRows::Toy(Box::new(toy_of(folder, fallback)?)),
            RowSource::Cache(h) => {
                let dir = h.dir;
                SaeRows::Cache {
                    held: h.rows_for(folder)?,
                    dir,
                }
            }
        })
    }
}

/// Loads the folders and builds one case per (folder, N).
pub fn build_cases(
    plugins: &PluginSet,
    folders: &[PathBuf],
    n_tokens: &[usize],
    rows: BenchRows<'_>,
) -> Result<(Vec<BenchSae>, Vec<BenchCase>)> {
    let mut source = RowSource::new(rows, n_tokens.iter().copied().max().unwrap_or(0))?;
    let mut saes = Vec::new();
    let mut cases = Vec::new();
    let loaded: Vec<SaeFolder> = folders
        .iter()
        .map(|f| saelens::load(f, plugins))
        .collect::<Result<_>>()?;
    for (i, folder) in loaded.iter().enumerate() {
        let sae = plugins.sae(&folder.plugin)?;
        let decoder = matrix(&folder.weights, "W_dec")?;
        let encoder = matrix(&folder.weights, "W_enc")?;
        let same_width = loaded.iter().filter(|f| f.d_sae == folder.d_sae).count() > 1;
        let sae_rows = source.rows_for(folder)?;
        // The folder's whole SAELens function (normalisation, b_dec), not
        // the bare encoder: the codes are the ones SAELens computes.
        let function = rdpbench_plugin_host::saelens_function::SaelensFunction::new(
            folder,
            &sae.cached_spec().saelens,
        )?;
        for &n in n_tokens {
            let mut case = sae_rows.case(n)?;
            case.codes = function
                .run(sae, &case.activations.data)
                .with_context(|| format!("encoding {} rows with {}", n, folder.path.display()))?
                .0;
            case.decoder = decoder.clone();
            case.encoder = Some(encoder.clone());
            let mut label = format!("d_sae={} N={n}", folder.d_sae);
            if same_width {
                label.push_str(&format!(" sae={i}"));
            }
            cases.push(BenchCase {
                sae: i,
                d_sae: folder.d_sae,
                n_tokens: n,
                label,
                case,
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

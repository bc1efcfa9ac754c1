//! Real language-model data (issue #7): train a small SAE sweep on a cached
//! activation set, evaluate it on held-out documents, and compare how the
//! proxy metrics rank the same SAE configurations on real and toy data.
//!
//! Pipeline ([`run_real`]):
//! 1. **Split** ([`DocumentSplit`]): document `i` is held out iff
//!    `i % held_out_every == held_out_every − 1`; whole documents, so no
//!    held-out token's document is trained on.
//! 2. **Train** ([`CacheTrainingSet`], [`run_real_sweep`]): each SAE of the
//!    sweep (`[real]`: architectures × their sparsity knob, `d_sae =
//!    width_factor · d_model`, one seed) streams the training rows shard by
//!    shard (seeded permutation within each shard, cycling), scaled so that
//!    `E‖x‖ ≈ √d_model`. Saved as a SAELens folder whose `cfg.json`
//!    metadata names the model, hook `blocks.{layer}.hook_resid_post` and
//!    cache; a finished folder is never retrained.
//! 3. **Evaluate** ([`load_held_out`], [`quality`], [`metric_score`]): on at
//!    most `eval_tokens` held-out tokens (whole documents in a seeded
//!    order): L0, EV, MSE (the pinned definitions of
//!    [`rdpbench_sdk::train::distortion`]) and every loaded non-oracle
//!    metric with the token labels (Brown: coarse POS) as concepts. Oracle
//!    metrics need true concept directions and are reported n/a. Every
//!    number has a percentile-bootstrap interval over *documents*
//!    ([`bootstrap`]; `bootstrap_resamples`, default 30, kept small because
//!    each resample re-runs every metric).
//! 4. **Rank vs toy** ([`toy`]): the same configurations trained on the
//!    `[toy]` model; per metric, Spearman ρ over configurations between its
//!    real scores and (a) its toy scores, (b) the toy `P_gt`, with a
//!    bootstrap interval over configurations.
//!
//! Results: `real.json` ([`RealRun`]), `real.csv`, `real.md` in the results
//! folder; the HTML report gains a "Real data" section when `real.json` is
//! beside `check.json`.

pub mod bootstrap;
pub(crate) mod evaluate;
pub(crate) mod heldout;
mod sharded;
mod source;
pub mod toy;
mod train;

pub use bootstrap::{resample_units, rows_of};
pub use evaluate::{EncodedHeldOut, encode_held_out, metric_score, quality};
pub use heldout::{HeldOut, load_held_out};
pub use rdpbench_schema::results::real::{
    CacheIdentity, CacheSummary, DocumentSplit, Estimate, MetricScore, Quality, REAL_FILE,
    REAL_SCHEMA_VERSION, RealJob, RealMetric, RealRun, RealSaeRow, ToyRow,
};
pub use rdpbench_schema::settings::RealSettings;
pub use sharded::{RealJobResult, RealShards, ToyJobResult};
pub use source::{CacheSource, CacheTrainingSet, activation_scale, open_manifest, training_rows};
pub use train::{TrainedReal, cache_identity, model_name, real_jobs, run_real_sweep};

use crate::progress::{Progress, UnitKind};
use crate::validity::{SaeScore, score_metric, spearman_with_ci, toy_eval_case};
use crate::work_queue::map_indexed;
use anyhow::{Context, Result};
use rdpbench_plugin_host::PluginSet;
use rdpbench_schema::config::Config;
use std::path::Path;
use std::sync::Mutex;

/// A finished run and which SAEs it trained (the rest were reused); the
/// flags are not part of `real.json`, which is identical on a rerun.
#[derive(Debug, Clone)]
pub struct RealOutcome {
    pub run: RealRun,
    /// Per real SAE, in row order.
    pub trained: Vec<bool>,
    /// Per toy counterpart.
    pub toy_trained: Vec<bool>,
}

/// The pipeline of the module docs: trains (or resumes) the real SAEs under
/// `sweep_dir` (a folder inside the results folder `out_dir`; `real.json`
/// records SAE folders relative to `out_dir`) and their toy counterparts
/// under `sweep_dir/toy`, and scores every metric of `plugins` (`jobs`
/// metrics in parallel; results do not depend on it). Select metrics
/// beforehand with [`PluginSet::select_metrics`].
pub fn compute_real(
    config: &Config,
    plugins: &PluginSet,
    cache_dir: &Path,
    out_dir: &Path,
    sweep_dir: &Path,
    jobs: usize,
    observer: &mut dyn Progress,
) -> Result<RealOutcome> {
    let settings = &config.real;
    observer.phase("load");
    let inputs = RealInputs::open(config, plugins, cache_dir)?;
    let cache = inputs.cache_summary(cache_dir);

    observer.phase("train");
    let relative_dir = sweep_dir.strip_prefix(out_dir).unwrap_or(sweep_dir);
    let trained = run_real_sweep(
        plugins,
        &inputs.real_jobs,
        &inputs.set,
        cache_dir,
        sweep_dir,
        observer,
    )?;
    let RealInputs {
        set,
        held,
        resamples,
        ..
    } = inputs;
    drop(set);

    observer.phase("evaluate");
    let mut encoded = Vec::new();
    let mut saes = Vec::new();
    for t in &trained {
        let enc = encode_trained(plugins, t, &held)?;
        saes.push(sae_row(
            t,
            &enc,
            &held,
            &resamples,
            settings.confidence,
            relative_dir,
        ));
        encoded.push(enc);
    }

    // Toy counterparts: same configurations on the toy model.
    let (toy_rows, toy_cases, toy_trained) = if settings.toy_steps > 0 {
        observer.phase("toy");
        let summary = toy::toy_counterparts(
            plugins,
            settings,
            &config.toy,
            &sweep_dir.join("toy"),
            observer,
        )?;
        let cases = summary
            .jobs
            .iter()
            .map(|o| toy_eval_case(plugins, o, settings.toy_eval_samples))
            .collect::<Result<Vec<_>>>()?;
        let rows: Vec<ToyRow> = summary.jobs.iter().map(toy_row).collect();
        let flags = summary.jobs.iter().map(|o| o.trained).collect();
        (rows, cases, flags)
    } else {
        (Vec::new(), Vec::new(), Vec::new())
    };

    observer.phase("metrics");
    let total = plugins.metrics.len();
    let observer = Mutex::new(observer);
    let metrics = map_indexed(&plugins.metrics, jobs, |i, m| {
        {
            let mut o = observer.lock().unwrap_or_else(|p| p.into_inner());
            o.unit(UnitKind::Metric, i, total, m.id());
        }
        if m.cached_spec().is_oracle() {
            return real_metric(m, Vec::new(), Vec::new(), &toy_rows, settings);
        }
        let scores = encoded
            .iter()
            .map(|enc| metric_score(m, enc, &held, &resamples, settings.confidence))
            .collect();
        let toy_scores = toy_cases.iter().map(|c| score_metric(m, c)).collect();
        real_metric(m, scores, toy_scores, &toy_rows, settings)
    });

    Ok(RealOutcome {
        run: assemble_real(config, plugins, cache, saes, toy_rows, metrics),
        trained: trained.iter().map(|t| t.trained).collect(),
        toy_trained,
    })
}

/// What the whole stage and each of its shards start from: the cache
/// opened for training (split, outlier threshold, activation scale), the
/// held-out set, its document resamples and the real jobs.
pub struct RealInputs {
    pub set: CacheTrainingSet,
    pub held: HeldOut,
    pub resamples: Vec<Vec<usize>>,
    pub real_jobs: Vec<RealJob>,
}

impl std::fmt::Debug for RealInputs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RealInputs")
            .field("held_out_tokens", &self.held.n_tokens())
            .field("resamples", &self.resamples.len())
            .field("real_jobs", &self.real_jobs)
            .finish_non_exhaustive()
    }
}

impl RealInputs {
    /// Checks `[real]` (a usage error when invalid) and its architectures,
    /// opens the cache in `cache_dir` and loads the held-out set.
    pub fn open(config: &Config, plugins: &PluginSet, cache_dir: &Path) -> Result<RealInputs> {
        let settings = &config.real;
        settings
            .validate()
            .map_err(rdpbench_schema::exit::usage_error)?;
        for arch in &settings.architectures {
            plugins.sae(arch).context("[real].architectures")?;
        }
        let split = DocumentSplit {
            held_out_every: settings.held_out_every,
            min_position: settings.min_position,
            max_norm: None,
        };
        let set = CacheTrainingSet::open(
            cache_dir,
            split,
            settings.outlier_norm_factor,
            settings.resident_bytes,
        )?;
        let held = load_held_out(
            cache_dir,
            set.split(),
            settings.eval_tokens,
            settings.bootstrap_seed,
            set.scale(),
        )?;
        let resamples = resample_units(
            held.units.len(),
            settings.bootstrap_resamples,
            settings.bootstrap_seed,
        );
        let real_jobs = real_jobs(settings, &set, &|a| plugins.sparsity_knob(a))?;
        Ok(RealInputs {
            set,
            held,
            resamples,
            real_jobs,
        })
    }

    /// `real.json`'s description of the cache in `cache_dir`.
    pub fn cache_summary(&self, cache_dir: &Path) -> CacheSummary {
        let manifest = self.set.manifest();
        let (train_docs, held_docs) = self.set.split().documents(manifest.n_documents());
        CacheSummary {
            dir: cache_dir.to_path_buf(),
            model_file: manifest.model_file.clone(),
            model_name: model_name(manifest),
            model_sha256: manifest.model_sha256.clone(),
            d_model: manifest.d_model,
            corpus: manifest.corpus.clone(),
            layer: manifest.layer,
            hook_name: format!("blocks.{}.hook_resid_post", manifest.layer),
            seq_len: manifest.seq_len,
            n_shards: manifest.shards.len(),
            n_tokens: manifest.n_tokens,
            token_label_names: manifest.token_label_names.clone(),
            train_documents: train_docs.len(),
            held_out_documents: held_docs.len(),
            eval_tokens: self.held.n_tokens(),
            eval_documents: self.held.documents.clone(),
            activation_scale: self.real_jobs.first().map_or(1.0, |j| j.activation_scale),
        }
    }
}

/// `t`'s SAE on the held-out rows.
pub(crate) fn encode_trained(
    plugins: &PluginSet,
    t: &TrainedReal,
    held: &HeldOut,
) -> Result<EncodedHeldOut> {
    let sae = plugins
        .sae(&t.job.architecture)
        .context("[real].architectures")?;
    encode_held_out(sae, &t.weights, held)
        .map_err(|e| e.context(format!("evaluating `{}`", t.job.id)))
}

/// The `real.json` row of a trained real SAE: its configuration, its folder
/// (`relative_dir/<id>`, relative to the results folder) and its held-out
/// quality with document-bootstrap intervals.
pub(crate) fn sae_row(
    t: &TrainedReal,
    enc: &EncodedHeldOut,
    held: &HeldOut,
    resamples: &[Vec<usize>],
    confidence: f64,
    relative_dir: &Path,
) -> RealSaeRow {
    RealSaeRow {
        id: t.job.id.clone(),
        architecture: t.job.architecture.clone(),
        sparsity: t.job.sparsity.clone(),
        d_sae: t.job.d_sae,
        seed: t.job.seed,
        folder: relative_dir.join(&t.job.id),
        quality: quality(enc, held, resamples, confidence),
    }
}

/// The toy row of a toy counterpart's outcome.
pub(crate) fn toy_row(o: &crate::train::JobOutcome) -> ToyRow {
    ToyRow {
        id: o.job.id.clone(),
        l0: o.eval.l0,
        explained_variance: o.eval.explained_variance,
        p_gt: o.eval.p_gt,
        mcc: o.eval.mcc,
    }
}

/// Metric `m`'s `real.json` entry from its scores on the real SAEs (row
/// order; empty for an oracle, which is n/a) and on their toy counterparts
/// (empty without them): the counts of defined, undefined and failed
/// scores, and, with toy scores, Spearman ρ over configurations (with a
/// bootstrap interval) of its real scores against its toy scores and
/// against the toy `P_gt` of `toy_rows`.
pub(crate) fn real_metric(
    m: &rdpbench_plugin_host::LoadedMetric,
    scores: Vec<MetricScore>,
    toy_scores: Vec<SaeScore>,
    toy_rows: &[ToyRow],
    settings: &RealSettings,
) -> RealMetric {
    let spec = m.cached_spec();
    let mut out = RealMetric {
        id: spec.id.clone(),
        version: spec.version.clone(),
        oracle: spec.is_oracle(),
        orientation: spec.orientation,
        inputs: spec.inputs.clone(),
        not_applicable: None,
        scores: Vec::new(),
        n_defined: 0,
        n_undefined: 0,
        n_errors: 0,
        toy_scores: Vec::new(),
        rank_vs_toy: None,
        rank_vs_toy_p_gt: None,
    };
    if spec.is_oracle() {
        out.not_applicable = Some(
            "oracle: reads ground-truth concept directions, which real data does not have".into(),
        );
        return out;
    }
    out.scores = scores;
    let count = |f: fn(&SaeScore) -> bool| out.scores.iter().filter(|s| f(&s.score)).count();
    out.n_defined = count(|s| matches!(s, SaeScore::Value { .. }));
    out.n_undefined = count(|s| matches!(s, SaeScore::Undefined { .. }));
    out.n_errors = count(|s| matches!(s, SaeScore::Error { .. }));
    if !toy_scores.is_empty() {
        out.toy_scores = toy_scores;
        let paired = |other: &[Option<f64>]| {
            let (mut xs, mut ys) = (Vec::new(), Vec::new());
            for (s, o) in out.scores.iter().zip(other) {
                if let (Some(a), Some(b)) = (s.score.value(), o) {
                    xs.push(a);
                    ys.push(*b);
                }
            }
            spearman_with_ci(
                &xs,
                &ys,
                settings.bootstrap_resamples,
                settings.confidence,
                settings.bootstrap_seed,
            )
        };
        let toy_values: Vec<Option<f64>> = out.toy_scores.iter().map(SaeScore::value).collect();
        let p_gt: Vec<Option<f64>> = toy_rows.iter().map(|t| t.p_gt).collect();
        out.rank_vs_toy = Some(paired(&toy_values));
        out.rank_vs_toy_p_gt = Some(paired(&p_gt));
    }
    out
}

/// The [`RealRun`] of these parts.
pub(crate) fn assemble_real(
    config: &Config,
    plugins: &PluginSet,
    cache: CacheSummary,
    saes: Vec<RealSaeRow>,
    toy: Vec<ToyRow>,
    metrics: Vec<RealMetric>,
) -> RealRun {
    RealRun {
        schema_version: REAL_SCHEMA_VERSION,
        tool: "rdpbench".into(),
        tool_version: crate::VERSION.into(),
        settings: config.real.clone(),
        cache,
        plugins: plugins.records(),
        plugin_errors: plugins.errors.clone(),
        saes,
        toy,
        metrics,
    }
}

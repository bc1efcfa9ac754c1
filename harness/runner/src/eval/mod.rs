//! `rdpbench eval`: any SAE on any activations.
//!
//! For each SAE folder (SAELens v6 of any architecture a loaded plugin
//! reads, or rdpbench's own), the activations are streamed in chunks of
//! `chunk_rows` tokens through the folder's whole SAELens function
//! ([`rdpbench_plugin_host::saelens_function`]: normalisation, `b_dec`,
//! the plugin's encoder, the declared decoder); the core numbers
//! ([`core_numbers`]) accumulate over every token, so memory does not grow
//! with `N`. The metric plugins are scored on the first `metric_tokens`
//! tokens, each with a token-bootstrap percentile interval (`resamples`
//! draws of that many tokens with replacement, seeded).

pub mod core_numbers;
pub mod labels;
pub mod rows;
mod sharded;
pub mod tensor_file;

use crate::progress::{Progress, UnitKind};
use crate::real::evaluate::{EncodedHeldOut, metric_score};
use crate::real::heldout::HeldOut;
use anyhow::{Context, Result, ensure};
use core_numbers::CoreNumbers;
use rdpbench_core::toy::EvalCase;
use rdpbench_plugin_host::saelens_function::SaelensFunction;
use rdpbench_plugin_host::{LoadedMetric, PluginSet, saelens};
use rdpbench_schema::results::CheckRun;
use rdpbench_schema::results::eval::{
    ActivationsSource, CheckSummary, EVAL_SCHEMA_VERSION, EvalMetric, EvalRun, EvalSae,
    EvalSettings,
};
use rdpbench_sdk::{CsrMatrix, DenseMatrix, Input, Orientation};
use rows::Rows;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub use sharded::{eval_plan, merge_eval, run_eval_shard};

/// Everything one evaluation reads.
#[derive(Debug, Clone)]
pub struct EvalRequest {
    pub saes: Vec<PathBuf>,
    pub activations: PathBuf,
    /// The safetensors key (default: the only tensor).
    pub key: Option<String>,
    pub labels: Option<PathBuf>,
    pub settings: EvalSettings,
    /// Tokens per streamed chunk.
    pub chunk_rows: usize,
}

/// `metrics.<id>` of one SAE for a metric that could not be scored.
fn unscored(orientation: Orientation, note: String) -> EvalMetric {
    EvalMetric {
        value: None,
        ci_low: None,
        ci_high: None,
        orientation: orientation_name(orientation).into(),
        n_resamples: 0,
        n_resamples_defined: 0,
        note: Some(note),
        check: None,
    }
}

fn orientation_name(o: Orientation) -> &'static str {
    match o {
        Orientation::HigherIsMorePolysemantic => "higher_is_more_polysemantic",
        Orientation::HigherIsLessPolysemantic => "higher_is_less_polysemantic",
    }
}

/// Each metric's verdict counts in `check`.
pub fn check_summaries(check: &CheckRun) -> BTreeMap<String, CheckSummary> {
    check
        .metrics
        .iter()
        .map(|m| {
            let v = &m.report.verdicts;
            let mut failed: Vec<String> = v
                .iter()
                .filter(|v| v.status.is_failure())
                .map(|v| format!("{:?}", v.condition))
                .collect();
            failed.dedup();
            let summary = CheckSummary {
                passed: v
                    .iter()
                    .filter(|v| v.status == rdpbench_core::conditions::Status::Pass)
                    .count(),
                total: v.len(),
                failed,
            };
            (m.report.spec.id.clone(), summary)
        })
        .collect()
}

/// Scores `metric` on the retained rows (raw orientation).
fn score(
    metric: &LoadedMetric,
    enc: &EncodedHeldOut,
    held: &HeldOut,
    resamples: &[Vec<usize>],
    confidence: f64,
    has_labels: bool,
) -> EvalMetric {
    let spec = metric.cached_spec();
    if spec.is_oracle() {
        return unscored(
            spec.orientation,
            "oracle metric: reads true directions, which real activations do not have".into(),
        );
    }
    if spec.reads(Input::Labels) && !has_labels {
        return unscored(spec.orientation, "reads labels: pass --labels".into());
    }
    let s = metric_score(metric, enc, held, resamples, confidence);
    let raw = |v: f64| spec.orientation.orient(v);
    let (lo, hi) = match s.ci {
        Some([a, b]) => {
            let (a, b) = (raw(a), raw(b));
            (Some(a.min(b)), Some(a.max(b)))
        }
        None => (None, None),
    };
    let note = match &s.score {
        rdpbench_schema::results::validity::SaeScore::Value { .. } => None,
        rdpbench_schema::results::validity::SaeScore::Undefined { reason } => {
            Some(format!("undefined: {reason}"))
        }
        rdpbench_schema::results::validity::SaeScore::Error { message } => {
            Some(format!("error: {message}"))
        }
    };
    EvalMetric {
        value: s.score.value().map(raw),
        ci_low: lo,
        ci_high: hi,
        orientation: orientation_name(spec.orientation).into(),
        n_resamples: s.n_resamples,
        n_resamples_defined: s.n_resamples_defined,
        note,
        check: None,
    }
}

/// Appends CSR rows of `b` to `a`.
fn append_rows(a: &mut CsrMatrix, b: &CsrMatrix) {
    for r in 0..b.n_rows {
        let (s, e) = (b.indptr[r] as usize, b.indptr[r + 1] as usize);
        a.push_row((s..e).map(|k| {
            (
                b.indices[k],
                if b.values.is_empty() {
                    1.0
                } else {
                    b.values[k]
                },
            )
        }));
    }
}

/// What every SAE of one evaluation shares: the open activations, their
/// shape `[n_tokens, d_in]`, the first `n_metric` tokens' labels
/// (`[n_metric, n_labels]` one-hot, when given) and the bootstrap draws
/// (`resamples` index lists of `n_metric` tokens each, seeded).
#[derive(Debug)]
pub struct Prepared {
    acts: Rows,
    n_tokens: usize,
    d_in: usize,
    n_metric: usize,
    labels: Option<CsrMatrix>,
    resamples: Vec<Vec<usize>>,
}

impl Prepared {
    /// Opens `req`'s activations (and labels) and draws the bootstrap.
    pub fn open(req: &EvalRequest) -> Result<Prepared> {
        let s = &req.settings;
        let mut acts = Rows::open(&req.activations, req.key.as_deref())?;
        let (n_tokens, d_in) = acts.shape()?;
        ensure!(n_tokens > 0, "{}: no tokens", req.activations.display());
        let n_metric = s.metric_tokens.min(n_tokens);
        let labels = match &req.labels {
            Some(p) => Some(labels::read_labels(p, n_tokens, n_metric)?),
            None => acts.labels(n_metric)?,
        };
        let resamples = crate::real::bootstrap::resample_units(n_metric, s.resamples, s.seed);
        Ok(Prepared {
            acts,
            n_tokens,
            d_in,
            n_metric,
            labels,
            resamples,
        })
    }

    /// The activations as eval.json describes them.
    pub fn source(&self, req: &EvalRequest) -> ActivationsSource {
        describe(&self.acts, req, self.n_tokens, self.d_in)
    }
}

fn describe(acts: &Rows, req: &EvalRequest, n_tokens: usize, d_in: usize) -> ActivationsSource {
    let (format, key, dtype) = acts.describe();
    ActivationsSource {
        path: req.activations.display().to_string(),
        format,
        key,
        dtype,
        n_tokens,
        d_in,
    }
}

/// `req`'s activations as eval.json describes them, reading only the
/// file's header (or the cache's manifest).
pub fn activations_source(req: &EvalRequest) -> Result<ActivationsSource> {
    let acts = Rows::open(&req.activations, req.key.as_deref())?;
    let (n_tokens, d_in) = acts.shape()?;
    ensure!(n_tokens > 0, "{}: no tokens", req.activations.display());
    Ok(describe(&acts, req, n_tokens, d_in))
}

/// Evaluates every SAE of `req` (see the module docs). `check` gives each
/// metric's verdicts when a `check.json` was found.
pub fn compute_eval(
    plugins: &PluginSet,
    req: &EvalRequest,
    check: Option<&CheckRun>,
    progress: &mut dyn Progress,
) -> Result<EvalRun> {
    let mut prepared = Prepared::open(req)?;
    let mut saes = Vec::with_capacity(req.saes.len());
    for i in 0..req.saes.len() {
        saes.push(eval_sae(plugins, req, &mut prepared, i, progress)?);
    }
    Ok(assemble_eval(req, prepared.source(req), saes, check))
}

/// The evaluation of `req`'s SAEs `saes` (in `req.saes` order, each
/// without check verdicts), each metric column labelled with its verdicts
/// from `check`: what [`compute_eval`] returns.
pub fn assemble_eval(
    req: &EvalRequest,
    activations: ActivationsSource,
    mut saes: Vec<EvalSae>,
    check: Option<&CheckRun>,
) -> EvalRun {
    let checks = check.map(check_summaries).unwrap_or_default();
    for sae in &mut saes {
        for (id, m) in sae.metrics.iter_mut() {
            m.check = checks.get(id).cloned();
        }
    }
    EvalRun {
        schema_version: EVAL_SCHEMA_VERSION,
        activations,
        labels: req.labels.as_ref().map(|p| p.display().to_string()),
        settings: req.settings.clone(),
        saes,
    }
}

/// Evaluates SAE `i` of `req` (the folder `req.saes[i]`): its core numbers
/// over all `n_tokens` tokens and every metric plugin on the first
/// `n_metric`; no check verdicts (`metrics.<id>.check` is `None`).
pub fn eval_sae(
    plugins: &PluginSet,
    req: &EvalRequest,
    p: &mut Prepared,
    i: usize,
    progress: &mut dyn Progress,
) -> Result<EvalSae> {
    let s = &req.settings;
    let (n_tokens, d_in, n_metric) = (p.n_tokens, p.d_in, p.n_metric);
    let chunk = req.chunk_rows.max(1);
    let dir = &req.saes[i];
    let folder = saelens::load(dir, plugins)?;
    let plugin = plugins.sae(&folder.plugin)?;
    let function = SaelensFunction::new(&folder, &plugin.cached_spec().saelens)?;
    ensure!(
        folder.d_in == d_in,
        "{}: d_in = {} in cfg.json, but {} holds rows of {d_in}",
        dir.display(),
        folder.d_in,
        req.activations.display()
    );
    progress.phase(&format!("eval {}", dir.display()));
    let mut core = CoreNumbers::new(d_in, folder.d_sae, s.batch_tokens);
    let mut kept_x: Vec<f32> = Vec::with_capacity(n_metric * d_in);
    let mut kept_hat: Vec<f32> = Vec::with_capacity(n_metric * d_in);
    let mut kept_codes = CsrMatrix::with_cols(folder.d_sae);
    let mut start = 0;
    while start < n_tokens {
        let rows = chunk.min(n_tokens - start);
        let x = p.acts.read_f32(start, rows)?;
        let (codes, x_hat) = function.run(plugin, &x).with_context(|| {
            format!(
                "encoding rows {start}..{} with {}",
                start + rows,
                dir.display()
            )
        })?;
        core.add(&x, &x_hat, &codes);
        if start < n_metric {
            let take = (n_metric - start).min(rows);
            kept_x.extend_from_slice(&x[..take * d_in]);
            kept_hat.extend_from_slice(&x_hat[..take * d_in]);
            let mut head = codes.clone();
            if take < rows {
                head = labels::first_rows(&codes, take);
            }
            append_rows(&mut kept_codes, &head);
        }
        start += rows;
        progress.training_step(start as u64, n_tokens as u64, "{}");
    }
    let core = core.finish(s.dense_threshold);
    let activations = DenseMatrix {
        rows: n_metric,
        cols: d_in,
        data: kept_x,
    };
    let label_matrix = p
        .labels
        .clone()
        .unwrap_or_else(|| labels::no_labels(n_metric));
    let held = HeldOut {
        activations: activations.clone(),
        labels: label_matrix.clone(),
        units: (0..n_metric).map(|r| r..r + 1).collect(),
        documents: vec![0; n_metric],
    };
    let decoder = crate::train::matrix(&folder.weights, "W_dec")?;
    let encoder = crate::train::matrix(&folder.weights, "W_enc").ok();
    let enc = EncodedHeldOut {
        case: EvalCase {
            decoder,
            encoder,
            activations,
            codes: kept_codes,
            labels: label_matrix,
            directions: DenseMatrix::zeros(p.labels.as_ref().map_or(0, |l| l.n_cols), d_in),
        },
        reconstruction: DenseMatrix {
            rows: n_metric,
            cols: d_in,
            data: kept_hat,
        },
    };
    let mut metrics = BTreeMap::new();
    for (k, m) in plugins.metrics.iter().enumerate() {
        progress.unit(UnitKind::Metric, k, plugins.metrics.len(), m.id());
        let e = score(
            m,
            &enc,
            &held,
            &p.resamples,
            s.confidence,
            p.labels.is_some(),
        );
        progress.unit_finished(k, m.id(), "");
        metrics.insert(m.id().to_string(), e);
    }
    tracing::info!(sae = i, path = %dir.display(), "evaluated");
    Ok(EvalSae {
        path: dir.display().to_string(),
        architecture: folder.architecture.clone(),
        plugin: folder.plugin.clone(),
        d_in,
        d_sae: folder.d_sae,
        n_tokens: core.n_tokens,
        cfg: function.honoured.clone(),
        l0: core.l0,
        l1: core.l1,
        mse: core.mse,
        mse_elementwise: core.mse_elementwise,
        explained_variance: core.explained_variance,
        explained_variance_legacy: core.explained_variance_legacy,
        cossim: core.cossim,
        l2_norm_in: core.l2_norm_in,
        l2_norm_out: core.l2_norm_out,
        l2_ratio: core.l2_ratio,
        relative_reconstruction_bias: core.relative_reconstruction_bias,
        dead_fraction: core.dead_fraction,
        dense_fraction: core.dense_fraction,
        metrics,
    })
}

/// The folder's plugin and numbers for one SAE, without metric plugins:
/// what the agreement tests compare with SAELens.
pub fn core_numbers_of(
    plugins: &PluginSet,
    dir: &Path,
    activations: &Path,
    batch_tokens: usize,
    chunk_rows: usize,
) -> Result<core_numbers::CoreSummary> {
    let mut acts = Rows::open(activations, None)?;
    let (n, d_in) = acts.shape()?;
    let folder = saelens::load(dir, plugins)?;
    let plugin = plugins.sae(&folder.plugin)?;
    let function = SaelensFunction::new(&folder, &plugin.cached_spec().saelens)?;
    let mut core = CoreNumbers::new(d_in, folder.d_sae, batch_tokens);
    let mut start = 0;
    while start < n {
        let rows = chunk_rows.min(n - start);
        let x = acts.read_f32(start, rows)?;
        let (codes, x_hat) = function.run(plugin, &x)?;
        core.add(&x, &x_hat, &codes);
        start += rows;
    }
    Ok(core.finish(0.1))
}

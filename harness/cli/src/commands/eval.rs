//! `rdpbench eval`: score SAE folders (SAELens v6 or rdpbench's own) on a
//! plain activations file; writes eval.json/eval.csv through the store and
//! prints a table. Unreadable or refused inputs (a cfg field that cannot be
//! honoured, a shape mismatch) exit 2.

use super::plugins::out;
use super::progress::{Bar, Counts};
use super::results;
use super::setup::discover_metrics;
use anyhow::Result;
use rdpbench_reports::eval::{exporters, text};
use rdpbench_runner::eval::{EvalRequest, compute_eval};
use rdpbench_schema::config::Config;
use rdpbench_schema::exit::{Exit, usage_error};
use rdpbench_schema::results::CheckRun;
use rdpbench_schema::results::eval::EvalSettings;
use rdpbench_store::{ResultFile, Stage};
use std::path::PathBuf;

#[derive(Debug, Clone, clap::Args)]
pub struct EvalArgs {
    /// SAE folders (`cfg.json` + `sae_weights.safetensors`), SAELens v6 of any
    /// architecture a loaded plugin reads, or rdpbench's own.
    #[arg(long = "sae", value_name = "DIR", num_args = 1.., required = true)]
    saes: Vec<PathBuf>,
    /// Activations `[N, d_in]` (f32, f16, bf16 or f64) in `.safetensors` or
    /// `.npy`, or an activation cache folder (`rdpbench lm extract`).
    #[arg(long, value_name = "PATH")]
    activations: PathBuf,
    /// The tensor to read from a `.safetensors` file (default: its only tensor).
    #[arg(long)]
    key: Option<String>,
    /// Per-token labels: a 1-D integer `[N]` `.npy` or `.safetensors`, −1 for
    /// none (docs/eval.md); label-based metrics are skipped without it.
    #[arg(long, value_name = "PATH")]
    labels: Option<PathBuf>,
    /// Only these metric ids (comma-separated); default: every loaded metric.
    #[arg(long, value_delimiter = ',')]
    metrics: Vec<String>,
    /// Core numbers only: no metric plugins.
    #[arg(long, conflicts_with = "metrics")]
    no_metrics: bool,
    /// Metric plugins are scored on the first this many tokens.
    #[arg(long, default_value_t = 10_000)]
    metric_tokens: usize,
    /// Token-bootstrap resamples of each metric's interval.
    #[arg(long, default_value_t = 100)]
    resamples: usize,
    /// Confidence of the intervals.
    #[arg(long, default_value_t = 0.95)]
    confidence: f64,
    /// Seed of the bootstrap.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Batch size (tokens) of the batch-dependent numbers
    /// (explained_variance_legacy, relative_reconstruction_bias).
    #[arg(long, default_value_t = 4096)]
    batch_tokens: usize,
    /// A latent is dense when it fires on more than this fraction of tokens.
    #[arg(long, default_value_t = 0.1)]
    dense_threshold: f64,
    /// Tokens per streamed chunk (memory: a few dense [chunk, d_sae] f32
    /// buffers inside the encoder).
    #[arg(long, default_value_t = 4096)]
    chunk_rows: usize,
    /// A `check.json` whose verdicts label each metric column (default: the
    /// results folder's own, when it has one).
    #[arg(long, value_name = "PATH")]
    check: Option<PathBuf>,
    /// Results folder; default from [output].dir.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Print eval.json on stdout instead of the table.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    pub no_shard: super::no_shard::NoShard,
}

/// `rdpbench eval`.
pub fn eval(config: Config, args: EvalArgs) -> Result<Exit> {
    args.no_shard.refuse("eval")?;
    if !(0.0..1.0).contains(&args.confidence) || args.confidence <= 0.0 {
        return Err(usage_error(anyhow::anyhow!(
            "--confidence {} is not in (0, 1)",
            args.confidence
        )));
    }
    let mut store = results::open(&results::results_dir(args.out.clone(), &config))?;
    let check = match &args.check {
        Some(p) => Some(CheckRun::load(p).map_err(usage_error)?),
        None => store
            .read_vouched_json::<CheckRun>(ResultFile::CheckJson)
            .ok()
            .flatten(),
    };
    let (mut plugins, exit) = discover_metrics(&config, args.metrics.clone())?;
    if args.no_metrics {
        plugins.metrics.clear();
    }
    let req = EvalRequest {
        saes: args.saes.clone(),
        activations: args.activations.clone(),
        key: args.key.clone(),
        labels: args.labels.clone(),
        settings: EvalSettings {
            batch_tokens: args.batch_tokens.max(1),
            dense_threshold: args.dense_threshold,
            metric_tokens: args.metric_tokens,
            resamples: args.resamples,
            confidence: args.confidence,
            seed: args.seed,
        },
        chunk_rows: args.chunk_rows.max(1),
    };
    let mut progress = Bar::new(Counts::Steps);
    let run = results::stage(&mut store, Stage::Eval, |w| {
        let run =
            compute_eval(&plugins, &req, check.as_ref(), &mut progress).map_err(usage_error)?;
        results::write_all(w, &run, &exporters())?;
        Ok(run)
    });
    progress.finish();
    let run = run?;
    if args.json {
        out(&serde_json::to_string_pretty(&run)?)?;
    } else {
        out(&text(&run))?;
    }
    Ok(exit)
}

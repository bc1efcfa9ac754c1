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
use rdpbench_runner::eval::{EvalRequest, compute_eval, eval_plan, merge_eval, run_eval_shard};
use rdpbench_runner::shard::Shard;
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
    pub out: Option<PathBuf>,
    /// Print eval.json on stdout instead of the table.
    #[arg(long)]
    json: bool,
    /// Evaluate only slice I of N of the SAEs (0-based, in the order given),
    /// recording each SAE's numbers in the results folder's shards/eval/;
    /// `rdpbench merge eval` with the same options writes eval.json/eval.csv.
    #[arg(long, value_name = "I/N")]
    pub shard: Option<String>,
    /// Set by `rdpbench merge eval`: write the stage from the shards' records.
    #[arg(skip)]
    pub merge: bool,
}

/// `rdpbench eval`.
pub fn eval(config: Config, args: EvalArgs) -> Result<Exit> {
    if !(0.0..1.0).contains(&args.confidence) || args.confidence <= 0.0 {
        return Err(usage_error(anyhow::anyhow!(
            "--confidence {} is not in (0, 1)",
            args.confidence
        )));
    }
    if let Some(shard) = &args.shard {
        return eval_shard(&config, &args, shard);
    }
    let root = results::results_dir(args.out.clone(), &config);
    let mut store = results::open(&root)?;
    let check = match &args.check {
        Some(p) => Some(CheckRun::load(p).map_err(usage_error)?),
        None => store
            .read_vouched_json::<CheckRun>(ResultFile::CheckJson)
            .ok()
            .flatten(),
    };
    let (plugins, req, exit) = prepare(&config, &args)?;
    let mut progress = Bar::new(Counts::Steps);
    let run = results::stage(&mut store, Stage::Eval, |w| {
        let run = if args.merge {
            let plan = eval_plan(&root, &req, &plugins).map_err(usage_error)?;
            merge_eval(&plan, &req, check.as_ref())?
        } else {
            compute_eval(&plugins, &req, check.as_ref(), &mut progress).map_err(usage_error)?
        };
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

/// `rdpbench eval --shard I/N`: this slice's SAEs evaluated, one record per
/// SAE (its eval.json entry without check verdicts, which the merge adds)
/// into the results folder's `shards/eval/`. Takes no folder lock and
/// writes no result file: shards run side by side, each writing only its
/// own jobs' records (each atomically).
fn eval_shard(config: &Config, args: &EvalArgs, shard: &str) -> Result<Exit> {
    let shard = Shard::parse(shard).map_err(usage_error)?;
    let root = results::results_dir(args.out.clone(), config);
    let (plugins, req, exit) = prepare(config, args)?;
    let plan = eval_plan(&root, &req, &plugins).map_err(usage_error)?;
    let mut progress = Bar::new(Counts::Steps);
    let started = std::time::Instant::now();
    let done = run_eval_shard(&plugins, &plan, &req, shard, &mut progress).map_err(usage_error);
    progress.finish();
    let (ran, skipped) = done?;
    eprintln!(
        "eval shard {shard}: {ran} SAE(s) evaluated, {skipped} already recorded, of {} in all ({:.1} s); records in {}",
        plan.job_ids.len(),
        started.elapsed().as_secs_f64(),
        plan.dir.display()
    );
    Ok(super::merge::shard_exit("eval", exit))
}

/// The metric plugins (none with `--no-metrics`) and the request the flags describe.
fn prepare(
    config: &Config,
    args: &EvalArgs,
) -> Result<(rdpbench_plugin_host::PluginSet, EvalRequest, Exit)> {
    let (mut plugins, exit) = discover_metrics(config, args.metrics.clone())?;
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
    Ok((plugins, req, exit))
}

//! `rdpbench real`: train (or resume) the `[real]` sweep on an activation
//! cache, evaluate it on held-out documents, compare with the toy
//! counterparts, write real.json/.csv/.md, print the Markdown.

use super::plugins::out;
use super::progress::{Bar, Counts};
use super::results;
use super::setup::{discover_metrics, jobs_or_cpus};
use anyhow::Result;
use rdpbench_reports::real::markdown;
use rdpbench_runner::real::{RealInputs, RealShards, compute_real};
use rdpbench_runner::shard::Shard;
use rdpbench_schema::config::Config;
use rdpbench_schema::exit::{Exit, usage_error};
use rdpbench_store::{ResultDir, Stage, Store};
use std::path::PathBuf;
use std::time::Instant;

#[derive(Debug, Default, clap::Args)]
pub struct RealArgs {
    /// Activation cache folder (from `rdpbench lm extract`).
    #[arg(long)]
    cache: PathBuf,
    /// Results folder (real.json beside check.json); default from [output].dir.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Only these metric ids (comma-separated); default: every loaded metric.
    #[arg(long, value_delimiter = ',')]
    metrics: Vec<String>,
    /// Optimiser steps per real SAE; default from [real].steps.
    #[arg(long)]
    steps: Option<u64>,
    /// Held-out tokens evaluated; default from [real].eval_tokens.
    #[arg(long)]
    eval_tokens: Option<usize>,
    /// Print the full results JSON on stdout instead of the Markdown.
    #[arg(long)]
    json: bool,
    /// Metrics scored in parallel (default: the number of CPUs). Results do
    /// not depend on it.
    #[arg(long, short)]
    jobs: Option<usize>,
    /// Run only slice I of N of the real SAEs (0-based, in sweep order):
    /// each trained into real-saes/, evaluated and scored, with its toy
    /// counterpart, one record per SAE in the results folder's
    /// shards/real/; `rdpbench merge real` with the same options writes
    /// real.json/.csv/.md.
    #[arg(long, value_name = "I/N")]
    pub shard: Option<String>,
    /// Set by `rdpbench merge real`: write the stage from the shards' records.
    #[arg(skip)]
    pub merge: bool,
}

impl RealArgs {
    /// `rdpbench real --cache CACHE --out OUT` with every other option at
    /// its default (`rdpbench run --real-cache`).
    pub fn for_run(cache: PathBuf, out: PathBuf) -> Self {
        Self {
            cache,
            out: Some(out),
            ..Self::default()
        }
    }
}

/// `rdpbench real`: the real stage in the results folder.
pub fn real(config: Config, args: RealArgs) -> Result<Exit> {
    if let Some(shard) = args.shard.clone() {
        return real_shard(config, args, &shard);
    }
    let mut store = results::open(&results::results_dir(args.out.clone(), &config))?;
    real_in(&mut store, config, args)
}

/// The real stage into an open store: SAEs under `real-saes/`, and
/// `real.json`/`.csv`/`.md`.
pub fn real_in(store: &mut Store, mut config: Config, args: RealArgs) -> Result<Exit> {
    overrides(&mut config, &args);
    let dir = store.root().to_path_buf();
    let (plugins, exit) = discover_metrics(&config, args.metrics)?;
    let jobs = jobs_or_cpus(args.jobs);
    let started = Instant::now();
    let mut progress = Bar::new(Counts::Steps).log_phases("real");
    let outcome = results::stage(store, Stage::Real, |w| {
        let sweep_dir = w.dir_for_tool(ResultDir::RealSaes)?;
        let outcome = if args.merge {
            let inputs = RealInputs::open(&config, &plugins, &args.cache)?;
            RealShards::new(&config, &plugins, &inputs, &args.cache, &dir, &sweep_dir)?.merge()?
        } else {
            compute_real(
                &config,
                &plugins,
                &args.cache,
                &dir,
                &sweep_dir,
                jobs,
                &mut progress,
            )?
        };
        w.adopt_tree(ResultDir::RealSaes)?;
        results::write_all(w, &outcome.run, &rdpbench_reports::real::exporters())?;
        Ok(outcome)
    })?;
    progress.finish();
    let run = &outcome.run;
    let trained = outcome.trained.iter().filter(|t| **t).count();
    let toy_trained = outcome.toy_trained.iter().filter(|t| **t).count();
    eprintln!(
        "{} real SAE(s) ({trained} trained, {} reused), {} toy counterpart(s) ({toy_trained} trained), \
         {} metric(s), {} held-out tokens in {:.1} s; wrote {}/real.{{json,csv,md}}",
        run.saes.len(),
        run.saes.len() - trained,
        outcome.toy_trained.len(),
        run.metrics.len(),
        run.cache.eval_tokens,
        started.elapsed().as_secs_f64(),
        dir.display()
    );
    if args.json {
        out(&serde_json::to_string_pretty(run)?)?;
    } else {
        out(&markdown(run))?;
    }
    Ok(exit)
}

/// The command-line overrides of `[real]`.
fn overrides(config: &mut Config, args: &RealArgs) {
    if let Some(s) = args.steps {
        config.real.steps = s;
    }
    if let Some(n) = args.eval_tokens {
        config.real.eval_tokens = n;
    }
}

/// `rdpbench real --shard I/N`: this slice's real SAEs (and toy
/// counterparts) into the results folder's `real-saes/`, one record per
/// SAE into `shards/real/`. Takes no folder lock: shards run side by side,
/// each writing only its own jobs' files (each atomically).
fn real_shard(mut config: Config, args: RealArgs, shard: &str) -> Result<Exit> {
    let shard = Shard::parse(shard).map_err(usage_error)?;
    overrides(&mut config, &args);
    let root = results::results_dir(args.out.clone(), &config);
    let (plugins, exit) = discover_metrics(&config, args.metrics.clone())?;
    let inputs = RealInputs::open(&config, &plugins, &args.cache)?;
    let sweep_dir = root.join(ResultDir::RealSaes.path());
    let shards = RealShards::new(&config, &plugins, &inputs, &args.cache, &root, &sweep_dir)?;
    let mut progress = Bar::new(Counts::Steps);
    let started = Instant::now();
    let done = shards.run_shard(shard, &mut progress);
    progress.finish();
    let (ran, skipped) = done?;
    eprintln!(
        "real shard {shard}: {ran} SAE(s) run, {skipped} already recorded, of {} in all ({:.1} s); records in {}",
        shards.plan.job_ids.len(),
        started.elapsed().as_secs_f64(),
        shards.plan.dir.display()
    );
    Ok(super::merge::shard_exit("real", exit))
}

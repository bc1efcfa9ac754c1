//! `rdpbench train`: train one SAE or a sweep on the toy model, save each as a
//! SAELens folder, resume an interrupted sweep.

use super::plugins::{out, report_errors};
use super::progress::{Bar, Counts};
use super::results;
use anyhow::Result;
use rdpbench_runner::shard::Shard;
use rdpbench_runner::train::{
    jobs, merge_sweep, run_sweep, run_sweep_shard, sweep_plan, validate_jobs,
};
use rdpbench_schema::config::Config;
use rdpbench_schema::exit::{Exit, usage_error};
use rdpbench_store::{ResultDir, Stage, Store};
use std::path::PathBuf;

#[derive(Debug, Default, clap::Args)]
pub struct TrainArgs {
    /// Architectures (comma-separated); default from [train].architectures.
    #[arg(long = "arch", value_delimiter = ',')]
    architectures: Vec<String>,
    /// Widths d_sae; default from [train].widths.
    #[arg(long, value_delimiter = ',')]
    widths: Vec<usize>,
    /// Values of each chosen architecture's sparsity knob (`k` for TopK,
    /// `l1_coefficient` for ReLU, …: `rdpbench plugins list` shows each
    /// plugin's knob); default from [train.sparsity].
    #[arg(long, alias = "k", value_delimiter = ',')]
    sparsity: Vec<f64>,
    /// Seeds; default from [train].seeds.
    #[arg(long, value_delimiter = ',')]
    seeds: Vec<u64>,
    /// Optimiser steps per SAE; default from [train].steps.
    #[arg(long)]
    steps: Option<u64>,
    /// Results folder (default: [output].dir); the SAEs go to its `saes/`.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Print the sweep summary JSON on stdout instead of the table.
    #[arg(long)]
    json: bool,
    /// Refuse to start when one SAE's estimated memory exceeds this size
    /// (e.g. 8G) instead of what the machine has available.
    #[arg(long, value_name = "SIZE")]
    max_memory: Option<String>,
    /// Run only slice I of N of the sweep's job list (0-based), recording each
    /// job in the results folder's shards/train/; `rdpbench merge train` with
    /// the same options writes the sweep's files once every slice is done.
    #[arg(long, value_name = "I/N")]
    pub shard: Option<String>,
    /// Set by `rdpbench merge train`: write the sweep from the shards' records.
    #[arg(skip)]
    pub merge: bool,
}

/// `rdpbench train`: the train stage in the results folder.
pub fn train(config: Config, args: TrainArgs) -> Result<Exit> {
    if let Some(shard) = args.shard.clone() {
        return train_shard(config, args, &shard);
    }
    let mut store = results::open(&results::results_dir(args.out.clone(), &config))?;
    train_in(&mut store, config, args)
}

/// The train stage into an open store: SAE folders under `saes/`, the
/// sweep's `saes/train.json` and `saes/train.csv`.
pub fn train_in(store: &mut Store, config: Config, args: TrainArgs) -> Result<Exit> {
    let root = store.root().to_path_buf();
    let Prepared {
        settings,
        plugins,
        jobs,
        exit,
    } = prepare(&config, &args)?;
    let mut progress = Bar::new(Counts::Steps);
    let started = std::time::Instant::now();
    let (summary, dir) = results::stage(store, Stage::Train, |w| {
        let dir = w.dir_for_tool(ResultDir::TrainSaes)?;
        let summary = if args.merge {
            let plan = sweep_plan(&root, "train", &plugins, &jobs, settings.eval_samples)?;
            merge_sweep(&plan, &dir)?
        } else {
            run_sweep(&plugins, &jobs, settings.eval_samples, &dir, &mut progress)?
        };
        w.adopt_tree(ResultDir::TrainSaes)?;
        results::write_all(w, &summary, &rdpbench_reports::train::exporters())?;
        Ok((summary, dir))
    })?;
    progress.finish();
    eprintln!(
        "{} SAE(s) in {} ({:.1} s)",
        summary.jobs.len(),
        dir.display(),
        started.elapsed().as_secs_f64()
    );
    print_summary(&summary, args.json)?;
    Ok(exit)
}

/// `rdpbench train --shard I/N`: this slice's SAEs into the results
/// folder's `saes/`, one record per job into `shards/train/`. Takes no
/// folder lock: shards run side by side, each writing only its own jobs'
/// files (each atomically).
fn train_shard(config: Config, args: TrainArgs, shard: &str) -> Result<Exit> {
    let shard = Shard::parse(shard).map_err(usage_error)?;
    let root = results::results_dir(args.out.clone(), &config);
    let Prepared {
        settings,
        plugins,
        jobs,
        exit,
    } = prepare(&config, &args)?;
    let plan = sweep_plan(&root, "train", &plugins, &jobs, settings.eval_samples)?;
    let dir = root.join(ResultDir::TrainSaes.path());
    let mut progress = Bar::new(Counts::Steps);
    let started = std::time::Instant::now();
    let (ran, skipped) = run_sweep_shard(
        &plugins,
        &plan,
        &jobs,
        settings.eval_samples,
        &dir,
        shard,
        &mut progress,
    )?;
    progress.finish();
    eprintln!(
        "train shard {shard}: {ran} job(s) run, {skipped} already recorded, of {} in all ({:.1} s); records in {}",
        jobs.len(),
        started.elapsed().as_secs_f64(),
        plan.dir.display()
    );
    Ok(super::merge::shard_exit("train", exit))
}

/// What every form of the train stage needs: the settings after the flags,
/// the plugins, the checked job list.
struct Prepared {
    settings: rdpbench_runner::train::TrainSettings,
    plugins: rdpbench_plugin_host::PluginSet,
    jobs: Vec<rdpbench_runner::train::TrainJob>,
    exit: Exit,
}

fn prepare(config: &Config, args: &TrainArgs) -> Result<Prepared> {
    let args = TrainArgs {
        architectures: args.architectures.clone(),
        widths: args.widths.clone(),
        sparsity: args.sparsity.clone(),
        seeds: args.seeds.clone(),
        steps: args.steps,
        max_memory: args.max_memory.clone(),
        ..TrainArgs::default()
    };
    let mut settings = config.train.clone();
    if !args.architectures.is_empty() {
        settings.architectures = args.architectures;
    }
    if !args.widths.is_empty() {
        settings.widths = args.widths;
    }
    if !args.sparsity.is_empty() {
        for arch in &settings.architectures {
            settings
                .sparsity
                .insert(arch.clone(), args.sparsity.clone());
        }
    }
    if !args.seeds.is_empty() {
        settings.seeds = args.seeds;
    }
    if let Some(s) = args.steps {
        settings.steps = s;
    }
    settings.validate().map_err(usage_error)?;
    let max_memory = args
        .max_memory
        .as_deref()
        .map(rdpbench_runner::memory::parse_bytes)
        .transpose()
        .map_err(usage_error)?;
    let plugins = super::setup::discover(config);
    super::setup::end_on_hang(&plugins)?;
    let exit = report_errors(&plugins);
    let jobs = jobs(&settings, &config.toy, &|a| plugins.sparsity_knob(a)).map_err(usage_error)?;
    validate_jobs(&plugins, &jobs, settings.batch_size, max_memory).map_err(usage_error)?;
    Ok(Prepared {
        settings,
        plugins,
        jobs,
        exit,
    })
}

/// The sweep table (or, with `json`, the summary JSON) on stdout.
fn print_summary(summary: &rdpbench_runner::train::SweepSummary, json: bool) -> Result<()> {
    if json {
        out(&serde_json::to_string_pretty(&summary)?)?;
    } else {
        let f = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.4}"));
        let mut t = format!(
            "{:<32} {:>8} {:>7} {:>10} {:>7} {:>7} {:>7}\n",
            "sae", "status", "L0", "MSE", "EV", "MCC", "P_gt"
        );
        for o in &summary.jobs {
            t.push_str(&format!(
                "{:<32} {:>8} {:>7} {:>10} {:>7} {:>7} {:>7}\n",
                o.job.id,
                if o.trained { "trained" } else { "resumed" },
                f(o.eval.l0),
                o.eval.mse.map_or("-".into(), |v| format!("{v:.3e}")),
                f(o.eval.explained_variance),
                f(o.eval.mcc),
                f(o.eval.p_gt)
            ));
        }
        out(&t)?;
    }
    Ok(())
}

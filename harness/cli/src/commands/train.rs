//! `rdpbench train`: train one SAE or a sweep on the toy model, save each as a
//! SAELens folder, resume an interrupted sweep.

use super::plugins::{out, report_errors};
use super::progress::{Bar, Counts};
use super::results;
use anyhow::Result;
use rdpbench_runner::train::{jobs, run_sweep, validate_jobs};
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
    out: Option<PathBuf>,
    /// Print the sweep summary JSON on stdout instead of the table.
    #[arg(long)]
    json: bool,
    /// Refuse to start when one SAE's estimated memory exceeds this size
    /// (e.g. 8G) instead of what the machine has available.
    #[arg(long, value_name = "SIZE")]
    max_memory: Option<String>,
}

/// `rdpbench train`: the train stage in the results folder.
pub fn train(config: Config, args: TrainArgs) -> Result<Exit> {
    let mut store = results::open(&results::results_dir(args.out.clone(), &config))?;
    train_in(&mut store, config, args)
}

/// The train stage into an open store: SAE folders under `saes/`, the
/// sweep's `saes/train.json` and `saes/train.csv`.
pub fn train_in(store: &mut Store, config: Config, args: TrainArgs) -> Result<Exit> {
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
    let plugins = super::setup::discover(&config);
    super::setup::end_on_hang(&plugins)?;
    let exit = report_errors(&plugins);
    let jobs = jobs(&settings, &config.toy, &|a| plugins.sparsity_knob(a)).map_err(usage_error)?;
    validate_jobs(&plugins, &jobs, settings.batch_size, max_memory).map_err(usage_error)?;
    let mut progress = Bar::new(Counts::Steps);
    let started = std::time::Instant::now();
    let (summary, dir) = results::stage(store, Stage::Train, |w| {
        let dir = w.dir_for_tool(ResultDir::TrainSaes)?;
        let summary = run_sweep(&plugins, &jobs, settings.eval_samples, &dir, &mut progress)?;
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
    if args.json {
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
    Ok(exit)
}

//! `rdpbench train`: train one SAE or a sweep on the toy model, save each as a
//! SAELens folder, resume an interrupted sweep.

use super::plugins::{out, report_errors, search_of};
use super::results;
use anyhow::Result;
use indicatif::{ProgressBar, ProgressStyle};
use rdpbench_plugin_host::PluginSet;
use rdpbench_runner::train::{SweepObserver, TrainJob, jobs, run_sweep};
use rdpbench_schema::config::Config;
use rdpbench_schema::exit::{Exit, usage_error};
use rdpbench_sdk::TrainObserver;
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
}

struct Progress {
    bar: ProgressBar,
    job: String,
}

impl TrainObserver for Progress {
    fn on_progress(&mut self, step: u64, total: u64, json: &str) {
        self.bar.set_length(total);
        self.bar.set_position(step);
        let v: serde_json::Value = serde_json::from_str(json).unwrap_or_default();
        let f = |k: &str| v.get(k).and_then(|x| x.as_f64());
        let mut msg = format!(
            "{} loss {:.4} l0 {:.2}",
            self.job,
            f("loss").unwrap_or(f64::NAN),
            f("l0").unwrap_or(f64::NAN)
        );
        if let Some(ev) = f("heldout_ev") {
            msg.push_str(&format!(
                " | held-out EV {ev:.4} MSE {:.2e} L0 {:.2}",
                f("heldout_mse").unwrap_or(f64::NAN),
                f("heldout_l0").unwrap_or(f64::NAN)
            ));
            tracing::info!("{} step {step}/{total}: {json}", self.job);
        }
        self.bar.set_message(msg);
    }
}

impl SweepObserver for Progress {
    fn job_started(&mut self, index: usize, total: usize, job: &TrainJob, resumed: bool) {
        self.job = format!("[{}/{total}] {}", index + 1, job.id);
        self.bar.set_position(0);
        if resumed {
            eprintln!("{}: finished folder found, not retrained", self.job);
        }
    }
    fn training_observer(&mut self) -> &mut dyn TrainObserver {
        self
    }
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
    let plugins = PluginSet::discover(&search_of(&config));
    let exit = report_errors(&plugins);
    let jobs = jobs(&settings, &config.toy, &|a| plugins.sparsity_knob(a)).map_err(usage_error)?;
    let bar = ProgressBar::with_draw_target(
        Some(settings.steps),
        indicatif::ProgressDrawTarget::stderr(),
    );
    bar.set_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} steps {msg}").expect("valid template"),
    );
    let mut progress = Progress {
        bar,
        job: String::new(),
    };
    let started = std::time::Instant::now();
    let (summary, dir) = results::stage(store, Stage::Train, |w| {
        let dir = w.dir_for_tool(ResultDir::TrainSaes)?;
        let summary = run_sweep(&plugins, &jobs, settings.eval_samples, &dir, &mut progress)?;
        w.adopt_tree(ResultDir::TrainSaes)?;
        results::write_all(w, &summary, &rdpbench_reports::train::exporters())?;
        Ok((summary, dir))
    })?;
    progress.bar.finish_and_clear();
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

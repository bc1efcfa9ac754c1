//! `rdpbench train`: train one SAE or a sweep on the toy model, save each as a
//! SAELens folder, resume an interrupted sweep.

use super::plugins::{out, report_errors, search_of};
use anyhow::Result;
use indicatif::{ProgressBar, ProgressStyle};
use rdpbench::config::Config;
use rdpbench::exit::Exit;
use rdpbench::plugin::PluginSet;
use rdpbench::train::{SweepObserver, TrainJob, jobs, run_sweep};
use rdpbench_sdk::TrainObserver;
use std::path::PathBuf;

#[derive(Debug, Default, clap::Args)]
pub struct TrainArgs {
    /// Architectures (comma-separated); default from [train].architectures.
    #[arg(long = "arch", value_delimiter = ',')]
    architectures: Vec<String>,
    /// Widths d_sae; default from [train].widths.
    #[arg(long, value_delimiter = ',')]
    widths: Vec<usize>,
    /// k values (TopK, BatchTopK, Matryoshka); default from [train].k.
    #[arg(long, value_delimiter = ',')]
    k: Vec<f64>,
    /// Seeds; default from [train].seeds.
    #[arg(long, value_delimiter = ',')]
    seeds: Vec<u64>,
    /// Optimiser steps per SAE; default from [train].steps.
    #[arg(long)]
    steps: Option<u64>,
    /// Sweep folder (default: [output].dir/[train].dir).
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

pub fn train(config: Config, args: TrainArgs) -> Result<Exit> {
    let mut settings = config.train.clone();
    if !args.architectures.is_empty() {
        settings.architectures = args.architectures;
    }
    if !args.widths.is_empty() {
        settings.widths = args.widths;
    }
    if !args.k.is_empty() {
        settings.k = args.k;
    }
    if !args.seeds.is_empty() {
        settings.seeds = args.seeds;
    }
    if let Some(s) = args.steps {
        settings.steps = s;
    }
    let dir = args
        .out
        .unwrap_or_else(|| config.output.dir.join(&settings.dir));
    let plugins = PluginSet::discover(&search_of(&config));
    let exit = report_errors(&plugins);
    let jobs = jobs(&settings, &config.toy).map_err(rdpbench::exit::usage_error)?;
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
    let summary = run_sweep(&plugins, &jobs, settings.eval_samples, &dir, &mut progress)?;
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

//! `rdpbench planted`: known features planted into an activation cache (or
//! a synthetic heavy-tailed background): R2, validity transfer and the
//! ladder conditions; writes planted.json/.md and prints the Markdown.

use super::plugins::out;
use super::progress::{Bar, Counts};
use super::results;
use super::setup::{discover_metrics, jobs_or_cpus};
use anyhow::Result;
use rdpbench_core::planted::PlantingSubspace;
use rdpbench_reports::planted::markdown;
use rdpbench_runner::planted::{BackgroundSource, compute_planted};
use rdpbench_runner::validity::ValidityRun;
use rdpbench_schema::config::Config;
use rdpbench_schema::exit::Exit;
use rdpbench_store::{ResultDir, ResultFile, Stage, Store};
use std::path::PathBuf;
use std::time::Instant;

#[derive(Debug, Default, clap::Args)]
pub struct PlantedArgs {
    /// Activation cache folder (`rdpbench lm extract`); without it, the
    /// synthetic heavy-tailed background of [planted].synthetic_* is used.
    #[arg(long)]
    cache: Option<PathBuf>,
    /// Results folder (planted.json beside check.json); default from [output].dir.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Only these metric ids (comma-separated); default: every loaded metric.
    #[arg(long, value_delimiter = ',')]
    metrics: Vec<String>,
    /// Where the planted directions live: random, high-variance or
    /// low-variance; default from [planted].subspace.
    #[arg(long, value_parser = parse_subspace)]
    subspace: Option<PlantingSubspace>,
    /// Planted magnitude relative to the background's mean norm; default
    /// from [planted].magnitude.
    #[arg(long)]
    magnitude: Option<f64>,
    /// Optimiser steps per planted SAE; default from [planted].steps.
    #[arg(long)]
    steps: Option<u64>,
    /// Print the full results JSON on stdout instead of the Markdown.
    #[arg(long)]
    json: bool,
    /// Metrics scored in parallel (default: the number of CPUs). Results do
    /// not depend on it.
    #[arg(long, short)]
    jobs: Option<usize>,
}

fn parse_subspace(s: &str) -> Result<PlantingSubspace, String> {
    PlantingSubspace::ALL
        .into_iter()
        .find(|p| p.name() == s)
        .ok_or_else(|| format!("`{s}`: expected random, high-variance or low-variance"))
}

/// `rdpbench planted`: the planted stage in the results folder.
pub fn planted(config: Config, args: PlantedArgs) -> Result<Exit> {
    let mut store = results::open(&results::results_dir(args.out.clone(), &config))?;
    planted_in(&mut store, config, args)
}

/// The planted stage into an open store: SAEs under `planted-saes/`, and
/// `planted.json`/`.md`.
pub fn planted_in(store: &mut Store, mut config: Config, args: PlantedArgs) -> Result<Exit> {
    if let Some(s) = args.subspace {
        config.planted.subspace = s;
    }
    if let Some(m) = args.magnitude {
        config.planted.magnitude = m;
    }
    if let Some(s) = args.steps {
        config.planted.steps = s;
    }
    let dir = store.root().to_path_buf();
    let (plugins, exit) = discover_metrics(&config, args.metrics)?;
    let jobs = jobs_or_cpus(args.jobs);
    let toy_validity = match store.read_vouched(ResultFile::ValidityJson)? {
        Some(bytes) => Some(ValidityRun::parse(
            &String::from_utf8_lossy(&bytes),
            &dir.join(ResultFile::ValidityJson.path())
                .display()
                .to_string(),
        )?),
        None => None,
    };
    let source = match &args.cache {
        Some(c) => BackgroundSource::Cache(c),
        None => BackgroundSource::Synthetic {
            seed: config.planted.seed,
        },
    };
    let started = Instant::now();
    let mut progress = Bar::new(Counts::Steps).log_phases("planted");
    let outcome = results::stage(store, Stage::Planted, |w| {
        let sweep_dir = w.dir_for_tool(ResultDir::PlantedSaes)?;
        let outcome = compute_planted(
            &config,
            &plugins,
            &source,
            toy_validity,
            &sweep_dir,
            jobs,
            &mut progress,
        )?;
        w.adopt_tree(ResultDir::PlantedSaes)?;
        results::write_all(w, &outcome.run, &rdpbench_reports::planted::exporters())?;
        Ok(outcome)
    })?;
    progress.finish();
    let run = &outcome.run;
    eprintln!(
        "{} planted SAE(s) ({} trained, {} reused), {} metric(s) in {:.1} s; wrote {}/planted.{{json,md}}",
        outcome.trained + outcome.reused,
        outcome.trained,
        outcome.reused,
        run.transfer.len(),
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

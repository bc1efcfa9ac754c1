//! `rdpbench validity`: train (or resume) the `[validity]` population, score
//! every metric on it, write validity.json/.csv/.md, print the table.

use super::plugins::out;
use super::progress::{Bar, Counts};
use super::results;
use super::setup::{discover_metrics, jobs_or_cpus};
use anyhow::Result;
use rdpbench_reports::Exporter;
use rdpbench_reports::validity::{ValidityMarkdown, verdicts_with_validity};
use rdpbench_runner::validity::compute_validity;
use rdpbench_schema::config::Config;
use rdpbench_schema::exit::Exit;
use rdpbench_schema::results::CheckRun;
use rdpbench_store::{ResultDir, ResultFile, Stage, Store};
use std::path::PathBuf;
use std::time::Instant;

#[derive(Debug, Default, clap::Args)]
pub struct ValidityArgs {
    /// Only these metric ids (comma-separated); default: every loaded metric.
    #[arg(long, value_delimiter = ',')]
    metrics: Vec<String>,
    /// Results folder (validity.json beside check.json); default from [output].dir.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Training seeds; default from [validity].seeds.
    #[arg(long, value_delimiter = ',')]
    seeds: Vec<u64>,
    /// Optimiser steps per SAE; default from [validity].steps.
    #[arg(long)]
    steps: Option<u64>,
    /// Print the full results JSON on stdout instead of the table.
    #[arg(long)]
    json: bool,
    /// Metrics scored in parallel (default: the number of CPUs). Results do
    /// not depend on it.
    #[arg(long, short)]
    jobs: Option<usize>,
}

/// `rdpbench validity`: the validity stage in the results folder.
pub fn validity(config: Config, args: ValidityArgs) -> Result<Exit> {
    let mut store = results::open(&results::results_dir(args.out.clone(), &config))?;
    validity_in(&mut store, config, args)
}

/// The validity stage into an open store: the population's SAEs under
/// `validity-saes/`, and `validity.json`/`.csv`/`.md`.
pub fn validity_in(store: &mut Store, mut config: Config, args: ValidityArgs) -> Result<Exit> {
    if !args.seeds.is_empty() {
        config.validity.seeds = args.seeds;
    }
    if let Some(s) = args.steps {
        config.validity.steps = s;
    }
    let dir = store.root().to_path_buf();
    let (plugins, exit) = discover_metrics(&config, args.metrics)?;
    let jobs = jobs_or_cpus(args.jobs);
    let mut progress = Bar::new(Counts::Steps);
    let started = Instant::now();
    let run = results::stage(store, Stage::Validity, |w| {
        let sweep_dir = w.dir_for_tool(ResultDir::ValiditySaes)?;
        let run = compute_validity(&config, &plugins, &sweep_dir, jobs, &mut progress)?;
        w.adopt_tree(ResultDir::ValiditySaes)?;
        results::write_all(w, &run, &rdpbench_reports::validity::exporters())?;
        Ok(run)
    })?;
    progress.finish();
    let trained = run.population.iter().filter(|r| r.trained).count();
    eprintln!(
        "{} SAE(s) ({trained} trained, {} reused), {} metric(s) in {:.1} s; wrote {}/validity.{{json,csv,md}}",
        run.population.len(),
        run.population.len() - trained,
        run.metrics.len(),
        started.elapsed().as_secs_f64(),
        dir.display()
    );
    if args.json {
        out(&serde_json::to_string_pretty(&run)?)?;
    } else {
        let mut text = ValidityMarkdown.render(&run)?;
        // With vouched check results beside it: the metric × condition verdicts plus ρ.
        let check = store.read_vouched(ResultFile::CheckJson)?.map(|bytes| {
            let origin = dir.join(ResultFile::CheckJson.path());
            CheckRun::parse(
                &String::from_utf8_lossy(&bytes),
                &origin.display().to_string(),
            )
        });
        match check {
            Some(Ok(check)) => {
                text.push_str("\n## Verdicts and validity\n\n");
                text.push_str(&verdicts_with_validity(&check, &run));
            }
            Some(Err(e)) => eprintln!("warning: the check results beside it were not read: {e:#}"),
            None => {}
        }
        out(&text)?;
    }
    Ok(exit)
}

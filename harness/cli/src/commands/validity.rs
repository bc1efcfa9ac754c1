//! `rdpbench validity`: train (or resume) the `[validity]` population, score
//! every metric on it, write validity.json/.csv/.md, print the table.

use super::plugins::out;
use super::progress::{Bar, Counts};
use super::results;
use super::setup::{discover_metrics, jobs_or_cpus};
use anyhow::Result;
use rdpbench_reports::Exporter;
use rdpbench_reports::validity::{ValidityMarkdown, verdicts_with_validity};
use rdpbench_runner::shard::Shard;
use rdpbench_runner::validity::{
    compute_validity, merge_validity, run_validity_shard, validity_plan,
};
use rdpbench_schema::config::Config;
use rdpbench_schema::exit::{Exit, usage_error};
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
    pub out: Option<PathBuf>,
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
    /// Run only slice I of N of the population (0-based), recording each SAE's
    /// outcome and scores in the results folder's shards/validity/; `rdpbench
    /// merge validity` with the same options writes validity.json/.csv/.md.
    #[arg(long, value_name = "I/N")]
    pub shard: Option<String>,
    /// Set by `rdpbench merge validity`: write the stage from the shards' records.
    #[arg(skip)]
    pub merge: bool,
}

/// `rdpbench validity`: the validity stage in the results folder.
pub fn validity(config: Config, args: ValidityArgs) -> Result<Exit> {
    if let Some(shard) = args.shard.clone() {
        return validity_shard(config, args, &shard);
    }
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
        let run = if args.merge {
            let plan = validity_plan(&dir, &config, &plugins)?;
            merge_validity(&config, &plugins, &plan, &sweep_dir)?
        } else {
            compute_validity(&config, &plugins, &sweep_dir, jobs, &mut progress)?
        };
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

/// `rdpbench validity --shard I/N`: this slice's SAEs into the results
/// folder's `validity-saes/`, one record per SAE (outcome and every
/// metric's score) into `shards/validity/`. Takes no folder lock: shards run
/// side by side, each writing only its own jobs' files (each atomically).
fn validity_shard(mut config: Config, args: ValidityArgs, shard: &str) -> Result<Exit> {
    let shard = Shard::parse(shard).map_err(usage_error)?;
    if !args.seeds.is_empty() {
        config.validity.seeds = args.seeds;
    }
    if let Some(s) = args.steps {
        config.validity.steps = s;
    }
    let root = results::results_dir(args.out.clone(), &config);
    let (plugins, exit) = discover_metrics(&config, args.metrics)?;
    let plan = validity_plan(&root, &config, &plugins)?;
    let sweep_dir = root.join(ResultDir::ValiditySaes.path());
    let mut progress = Bar::new(Counts::Steps);
    let started = Instant::now();
    let (ran, skipped) = run_validity_shard(
        &config,
        &plugins,
        &plan,
        &sweep_dir,
        shard,
        jobs_or_cpus(args.jobs),
        &mut progress,
    )?;
    progress.finish();
    eprintln!(
        "validity shard {shard}: {ran} SAE(s) run, {skipped} already recorded, of {} in all ({:.1} s); records in {}",
        plan.job_ids.len(),
        started.elapsed().as_secs_f64(),
        plan.dir.display()
    );
    Ok(super::merge::shard_exit("validity", exit))
}

//! `rdpbench game`: how far each metric can be gamed on oracle SAEs
//! (CONDITIONS.md §7); writes game.json/.md and prints the table.

use super::plugins::out;
use super::progress::{Bar, Counts};
use super::results;
use super::setup::{discover_metrics, jobs_or_cpus};
use anyhow::Result;
use rdpbench_reports::game::markdown;
use rdpbench_runner::game::run_game;
use rdpbench_schema::config::Config;
use rdpbench_schema::exit::{Exit, usage_error};
use rdpbench_store::{Stage, Store};
use std::path::PathBuf;
use std::time::Instant;

#[derive(Debug, Default, clap::Args)]
pub struct GameArgs {
    /// Only these metric ids (comma-separated); default: every loaded metric.
    #[arg(long, value_delimiter = ',')]
    metrics: Vec<String>,
    /// Results folder; default from [output].dir.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Metric evaluations per start (the search budget); default from
    /// [game].evaluations.
    #[arg(long)]
    evaluations: Option<usize>,
    /// Toy seed; default from [game].seed.
    #[arg(long)]
    seed: Option<u64>,
    /// Print the full results JSON on stdout instead of the table.
    #[arg(long)]
    json: bool,
    /// Metrics searched in parallel (default: the number of CPUs). Results
    /// do not depend on it.
    #[arg(long, short)]
    jobs: Option<usize>,
    #[command(flatten)]
    pub no_shard: super::no_shard::NoShard,
}

/// `rdpbench game`: the game stage in the results folder.
pub fn game(config: Config, args: GameArgs) -> Result<Exit> {
    args.no_shard.refuse("game")?;
    let mut store = results::open(&results::results_dir(args.out.clone(), &config))?;
    game_in(&mut store, config, args)
}

/// The game stage into an open store.
pub fn game_in(store: &mut Store, mut config: Config, args: GameArgs) -> Result<Exit> {
    if let Some(n) = args.evaluations {
        config.game.evaluations = n;
    }
    if let Some(s) = args.seed {
        config.game.seed = s;
    }
    config.game.validate().map_err(usage_error)?;
    let dir = store.root().to_path_buf();
    let (plugins, exit) = discover_metrics(&config, args.metrics)?;
    let jobs = jobs_or_cpus(args.jobs);
    let mut progress = Bar::new(Counts::Steps);
    let started = Instant::now();
    let run = results::stage(store, Stage::Game, |w| {
        let run = run_game(
            &plugins,
            &config.toy,
            &config.check,
            &config.game,
            jobs,
            &mut progress,
        )
        .map_err(|e| usage_error(e.context("cannot build the game's oracle starts")))?;
        results::write_all(w, &run, &rdpbench_reports::game::exporters())?;
        Ok(run)
    })?;
    progress.finish();
    eprintln!(
        "{} metric(s) in {:.1} s; wrote {}/game.{{json,md}}",
        run.metrics.len(),
        started.elapsed().as_secs_f64(),
        dir.display()
    );
    if args.json {
        out(&serde_json::to_string_pretty(&run)?)?;
    } else {
        out(&markdown(&run))?;
    }
    Ok(exit)
}

//! `rdpbench run`: the main job, from nothing to the HTML report on the
//! embedded toy default: check → train → reproduce rdp → validity → bench
//! → report, all into one results folder. With `--real-cache CACHE` (an
//! activation cache from `rdpbench lm extract`) two stages run before the
//! report: `real` (`rdpbench real`: train, held-out evaluation, toy
//! ranking) and `real-bench` (`rdpbench bench --cache` on the real SAEs,
//! into `real-bench/`), and the report gains its "Real data" section.
//!
//! One results store holds the whole run: its lock is taken first (a second
//! run on the same folder exits 6 at once), every stage's entry in
//! `run.json` is reset (skipped stages are recorded as skipped), and each
//! stage commits its own files as soon as it finishes, so a later failure
//! loses nothing already computed. A stage that fails is recorded as failed
//! and the run goes on; the report shows each stage's status and only what
//! `run.json` vouches for, never an older run's results.

use super::bench::{BenchArgs, run_benchmarks_in, table};
use super::check::{CheckArgs, check_in};
use super::game::{GameArgs, game_in};
use super::plugins::out;
use super::real::{RealArgs, real_in};
use super::reproduce::{ReproduceCommand, reproduce_in};
use super::results;
use super::train::{TrainArgs, train_in};
use super::validity::{ValidityArgs, validity_in};
use anyhow::Result;
use rdpbench_schema::config::Config;
use rdpbench_schema::exit::{Exit, classify, usage_error};
use rdpbench_schema::results::real::RealRun;
use rdpbench_store::{ResultFile, Stage, Status, Store};
use std::path::PathBuf;
use std::time::Instant;

#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// Results folder; default from [output].dir.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Stages to skip (comma-separated): check, game, train, rdp, validity,
    /// bench, real, real-bench.
    #[arg(long, value_delimiter = ',')]
    skip: Vec<String>,
    /// Also run the real-data stages on this activation cache (`rdpbench lm
    /// extract`; needs scripts/fetch-real-data.sh): `real` and `real-bench`.
    #[arg(long, value_name = "DIR")]
    real_cache: Option<PathBuf>,
}

/// The toy stages, in order (the report comes last).
const TOY_STAGES: [&str; 6] = ["check", "game", "train", "rdp", "validity", "bench"];
/// The stages `--real-cache` adds before the report.
const REAL_STAGES: [&str; 2] = ["real", "real-bench"];

/// How one stage ended.
struct StageOutcome {
    name: &'static str,
    secs: f64,
    /// The stage's exit class, or its error message and exit class.
    result: std::result::Result<Exit, (String, Exit)>,
}

/// `rdpbench bench --cache CACHE` on the SAEs of the vouched `real.json`,
/// as the real-bench stage.
fn real_bench_stage(store: &mut Store, config: &Config, cache: &std::path::Path) -> Result<Exit> {
    let dir = store.root().to_path_buf();
    let real = match store.read_vouched(ResultFile::RealJson)? {
        Some(bytes) => RealRun::parse(
            &String::from_utf8_lossy(&bytes),
            &dir.join(ResultFile::RealJson.path()).display().to_string(),
        )?,
        None => {
            let reason =
                "needs the real stage's results (real.json), which this run did not produce";
            store.mark(Stage::RealBench, Status::NotRun, reason)?;
            anyhow::bail!("{reason}");
        }
    };
    let args = BenchArgs {
        saes: real.saes.iter().map(|s| dir.join(&s.folder)).collect(),
        cache: Some(cache.to_path_buf()),
        ..BenchArgs::default()
    };
    let (run, exit) = run_benchmarks_in(store, config, &args)?;
    out(&table(&run))?;
    Ok(exit)
}

pub fn run(config: Config, args: RunArgs) -> Result<Exit> {
    let mut stages: Vec<&'static str> = TOY_STAGES.to_vec();
    if args.real_cache.is_some() {
        stages.extend(REAL_STAGES);
    }
    for s in &args.skip {
        if !TOY_STAGES.contains(&s.as_str()) && !REAL_STAGES.contains(&s.as_str()) {
            return Err(usage_error(anyhow::anyhow!(
                "--skip {s}: unknown stage (check, game, train, rdp, validity, bench, real, real-bench)"
            )));
        }
    }
    stages.push("report");
    let mut config = config;
    if let Some(dir) = &args.out {
        config.output.dir = dir.clone();
    }
    let out_dir = config.output.dir.clone();
    let mut store = results::open(&out_dir)?;
    let skipped: Vec<Stage> = args.skip.iter().filter_map(|s| Stage::parse(s)).collect();
    store.start_run(&skipped)?;
    let started = Instant::now();
    let mut outcomes: Vec<StageOutcome> = Vec::new();
    for (i, &name) in stages.iter().enumerate() {
        if args.skip.iter().any(|s| s == name) {
            eprintln!("==> [{}/{}] {name}: skipped", i + 1, stages.len());
            continue;
        }
        eprintln!(
            "==> [{}/{}] {name} ({:.0} s elapsed)",
            i + 1,
            stages.len(),
            started.elapsed().as_secs_f64()
        );
        let t = Instant::now();
        let result = match name {
            "check" => check_in(&mut store, config.clone(), CheckArgs::default()),
            "game" => game_in(&mut store, config.clone(), GameArgs::default()),
            "train" => train_in(&mut store, config.clone(), TrainArgs::default()),
            "rdp" => reproduce_in(
                &mut store,
                config.clone(),
                ReproduceCommand::Rdp {
                    out: Some(out_dir.clone()),
                    steps: None,
                    seeds: Vec::new(),
                    strict: false,
                },
            ),
            "validity" => validity_in(&mut store, config.clone(), ValidityArgs::default()),
            "bench" => run_benchmarks_in(&mut store, &config, &BenchArgs::default()).and_then(
                |(run, exit)| {
                    out(&table(&run))?;
                    Ok(exit)
                },
            ),
            "real" => real_in(
                &mut store,
                config.clone(),
                RealArgs::for_run(
                    args.real_cache
                        .clone()
                        .expect("real stages need --real-cache"),
                    out_dir.clone(),
                ),
            ),
            "real-bench" => real_bench_stage(
                &mut store,
                &config,
                args.real_cache
                    .as_deref()
                    .expect("real stages need --real-cache"),
            ),
            _ => results::report(&mut store).map(|path| {
                eprintln!("report: {}", path.display());
                Exit::Ok
            }),
        };
        let secs = t.elapsed().as_secs_f64();
        let result = result.map_err(|e| {
            eprintln!("==> {name} FAILED after {secs:.1} s: {e:#}");
            (format!("{e:#}"), classify(&e))
        });
        if let Ok(exit) = &result {
            eprintln!("==> {name} done in {secs:.1} s (exit {})", exit.code());
        }
        outcomes.push(StageOutcome { name, secs, result });
    }
    eprintln!(
        "rdpbench run: {:.1} s in all; results in {}",
        started.elapsed().as_secs_f64(),
        out_dir.display()
    );
    // The first failed stage decides the exit code; else a plugin problem
    // in any stage gives 3; else 0.
    let mut failed = None;
    let mut plugin_trouble = false;
    for o in &outcomes {
        match &o.result {
            Ok(e) => {
                eprintln!("  {:<9} ok      {:>7.1} s", o.name, o.secs);
                plugin_trouble |= *e == Exit::Plugin;
            }
            Err((msg, e)) => {
                eprintln!("  {:<9} FAILED  {:>7.1} s  {msg}", o.name, o.secs);
                failed.get_or_insert(*e);
            }
        }
    }
    Ok(failed.unwrap_or(if plugin_trouble {
        Exit::Plugin
    } else {
        Exit::Ok
    }))
}

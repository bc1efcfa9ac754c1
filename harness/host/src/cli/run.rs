//! `rdpbench run`: the main job, from nothing to the HTML report on the
//! embedded toy default: check → train → reproduce rdp → validity → bench
//! → report, all into one results folder. With `--real-cache CACHE` (an
//! activation cache from `rdpbench lm extract`) two stages run before the
//! report: `real` (`rdpbench real`: train, held-out evaluation, toy
//! ranking) and `real-bench` (`rdpbench bench --cache` on the real SAEs,
//! into `real-bench/`), and the report gains its "Real data" section.
//!
//! Each stage writes its own outputs as soon as it finishes, so a later
//! failure loses nothing already computed. A stage that fails is reported
//! on stderr and the run goes on to the stages that do not need its
//! output; the report is rendered whenever `check.json` exists (the other
//! sections are optional and say what produces them when absent).

use super::bench::{BenchArgs, run_benchmarks, table};
use super::check::{CheckArgs, check};
use super::plugins::out;
use super::real::{RealArgs, real};
use super::reproduce::{ReproduceCommand, reproduce};
use super::setup::{discover_metrics, jobs_or_cpus};
use super::train::{TrainArgs, train};
use anyhow::{Context, Result};
use rdpbench::config::Config;
use rdpbench::exit::{Exit, classify};
use rdpbench::report::{HtmlReport, ReportInputs};
use std::path::PathBuf;
use std::time::Instant;

#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// Results folder; default from [output].dir.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Stages to skip (comma-separated): check, train, rdp, validity, bench,
    /// real, real-bench.
    #[arg(long, value_delimiter = ',')]
    skip: Vec<String>,
    /// Also run the real-data stages on this activation cache (`rdpbench lm
    /// extract`; needs scripts/fetch-real-data.sh): `real` and `real-bench`.
    #[arg(long, value_name = "DIR")]
    real_cache: Option<PathBuf>,
}

/// The toy stages, in order (the report comes last).
const TOY_STAGES: [&str; 5] = ["check", "train", "rdp", "validity", "bench"];
/// The stages `--real-cache` adds before the report.
const REAL_STAGES: [&str; 2] = ["real", "real-bench"];

/// How one stage ended.
struct StageOutcome {
    name: &'static str,
    secs: f64,
    /// The stage's exit class, or its error message and exit class.
    result: std::result::Result<Exit, (String, Exit)>,
}

fn validity_stage(config: &Config, out_dir: &std::path::Path) -> Result<Exit> {
    let (plugins, _) = discover_metrics(config, Vec::new())?;
    let jobs = jobs_or_cpus(None);
    let mut silent = rdpbench::validity::Silent;
    let run = rdpbench::validity::run_validity(config, &plugins, out_dir, jobs, &mut silent)?;
    eprintln!(
        "validity: {} metric(s) scored; validity.json in {}",
        run.metrics.len(),
        out_dir.display()
    );
    Ok(Exit::Ok)
}

fn report_stage(out_dir: &std::path::Path) -> Result<Exit> {
    let inputs = ReportInputs::load(out_dir)?;
    let html = HtmlReport.render_inputs(&inputs)?;
    let path = out_dir.join("report.html");
    std::fs::write(&path, html).with_context(|| format!("cannot write {}", path.display()))?;
    eprintln!("report: {}", path.display());
    Ok(Exit::Ok)
}

/// `rdpbench bench --cache CACHE` on the SAEs `real.json` in `out_dir`
/// lists, into `out_dir/real-bench`.
fn real_bench_stage(
    config: &Config,
    out_dir: &std::path::Path,
    cache: &std::path::Path,
) -> Result<Exit> {
    let real = rdpbench::real::RealRun::load(&out_dir.join(rdpbench::real::REAL_FILE))?;
    let args = BenchArgs {
        saes: real.saes.iter().map(|s| out_dir.join(&s.folder)).collect(),
        cache: Some(cache.to_path_buf()),
        out: Some(out_dir.join(rdpbench::report::inputs::REAL_BENCH_DIR)),
        ..BenchArgs::default()
    };
    let (run, exit) = run_benchmarks(config, &args)?;
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
            return Err(rdpbench::exit::usage_error(anyhow::anyhow!(
                "--skip {s}: unknown stage (check, train, rdp, validity, bench, real, real-bench)"
            )));
        }
    }
    stages.push("report");
    let mut config = config;
    if let Some(dir) = &args.out {
        config.output.dir = dir.clone();
    }
    let out_dir = config.output.dir.clone();
    std::fs::create_dir_all(&out_dir)
        .with_context(|| format!("cannot create results folder {}", out_dir.display()))?;
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
            "check" => check(config.clone(), CheckArgs::default()),
            "train" => train(config.clone(), TrainArgs::default()),
            "rdp" => reproduce(
                config.clone(),
                ReproduceCommand::Rdp {
                    out: Some(out_dir.clone()),
                    steps: None,
                    seeds: Vec::new(),
                    strict: false,
                },
            ),
            "validity" => validity_stage(&config, &out_dir),
            "bench" => {
                let args = BenchArgs {
                    out: Some(out_dir.clone()),
                    ..BenchArgs::default()
                };
                run_benchmarks(&config, &args).and_then(|(run, exit)| {
                    out(&table(&run))?;
                    Ok(exit)
                })
            }
            "real" => real(
                config.clone(),
                RealArgs::for_run(
                    args.real_cache
                        .clone()
                        .expect("real stages need --real-cache"),
                    out_dir.clone(),
                ),
            ),
            "real-bench" => real_bench_stage(
                &config,
                &out_dir,
                args.real_cache
                    .as_deref()
                    .expect("real stages need --real-cache"),
            ),
            _ => report_stage(&out_dir),
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

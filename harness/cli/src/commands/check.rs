//! `rdpbench check`: run, write every export, print the summary, compare
//! with a baseline, and choose the exit code.

use super::plugins::{out, report_errors};
use super::progress::{Bar, Counts};
use super::results;
use super::setup::jobs_or_cpus;
use anyhow::{Context, Result};
use rdpbench_core::conditions::ConditionId;
use rdpbench_plugin_host::PluginSet;
use rdpbench_reports::check::Text;
use rdpbench_reports::{Exporter, Json};
use rdpbench_runner::check::{Isolation, check_plan, merge_check, run_check_shard, run_check_with};
use rdpbench_runner::shard::Shard;
use rdpbench_schema::config::Config;
use rdpbench_schema::exit::{Exit, usage_error};
use rdpbench_schema::results::CheckRun;
use rdpbench_schema::results::check::{AllowMissing, MinimalCase, compare_allowing};
use rdpbench_schema::sanitize::neutralize;
use rdpbench_store::{ResultDir, ResultFile, Stage, Store};
use std::path::PathBuf;
use std::time::Instant;

#[derive(Debug, Default, clap::Args)]
pub struct CheckArgs {
    /// Only these metric ids (comma-separated); default: every loaded metric.
    #[arg(long, value_delimiter = ',')]
    metrics: Vec<String>,
    /// Only these conditions, e.g. `C1,C3`; default: all.
    #[arg(long, value_delimiter = ',')]
    conditions: Vec<String>,
    /// Toy seeds (comma-separated); default from [check].seeds.
    #[arg(long, value_delimiter = ',')]
    seeds: Vec<u64>,
    /// Samples per dataset (N); default from [check].n_samples.
    #[arg(long)]
    samples: Option<usize>,
    /// Results folder; default from [output].dir.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Also load this plugin file: a shared library or a Python metric
    /// (`.py`; docs/python-metrics.md). Repeatable.
    #[arg(long, value_name = "FILE")]
    plugin: Vec<PathBuf>,
    /// A stored check.json: exit 5 if a metric lost a condition it passed
    /// there, by failing it or by not checking it (moves to or from
    /// inconclusive are printed, and are losses only with --strict).
    #[arg(long, value_name = "FILE")]
    baseline: Option<PathBuf>,
    /// With --baseline: metric ids or conditions (e.g. `C9`) that may be
    /// missing from this run without counting as lost (comma-separated).
    #[arg(
        long,
        value_delimiter = ',',
        value_name = "NAMES",
        requires = "baseline"
    )]
    allow_missing: Vec<String>,
    /// Exit 4 when any metric fails any condition or any verdict is
    /// inconclusive.
    #[arg(long)]
    strict: bool,
    /// Print the full results JSON on stdout instead of the summary table.
    #[arg(long)]
    json: bool,
    /// Metrics checked in parallel (default: the number of CPUs). Results do
    /// not depend on it.
    #[arg(long, short)]
    jobs: Option<usize>,
    /// Check each metric in its own child process, so a plugin that
    /// segfaults or aborts costs only its own verdicts (slower: every worker
    /// rebuilds the toy workbench).
    #[arg(long)]
    isolate: bool,
    /// Refuse to start when the run's estimated memory exceeds this size
    /// (e.g. 8G, 512M) instead of what the machine has available.
    #[arg(long, value_name = "SIZE")]
    max_memory: Option<String>,
    /// Do not shrink failed conditions to their smallest failing cases
    /// (default: [check].shrink_trials runs per failure).
    #[arg(long)]
    no_shrink: bool,
    /// Rerun one smallest failing case (a `cases/*.toml` file a check
    /// wrote) on its metric and print the verdict: exit 4 while the metric
    /// still fails it, 0 once it passes. Writes no results.
    #[arg(long, value_name = "CASE_FILE")]
    replay: Option<PathBuf>,
    /// Check only slice I of N of the metrics (0-based, in load order),
    /// recording each metric's check.json entry in the results folder's
    /// shards/check/; `rdpbench merge check` with the same options writes
    /// check.json/.csv/.md/.junit.xml and cases/. A shard exits 0 once its
    /// metrics are recorded, whatever their verdicts: the exit code the
    /// check would return (--strict, --baseline, plugin load errors) is the
    /// merge's.
    #[arg(long, value_name = "I/N", conflicts_with = "replay")]
    pub shard: Option<String>,
    /// Set by `rdpbench merge check`: write the stage from the shards' records.
    #[arg(skip)]
    pub merge: bool,
}

/// `rdpbench check`: the check stage, then the report, in the results folder.
pub fn check(config: Config, args: CheckArgs) -> Result<Exit> {
    if let Some(file) = &args.replay {
        if args.merge {
            return Err(usage_error(anyhow::anyhow!(
                "`rdpbench merge check` takes no --replay; replay a case with `rdpbench check --replay`"
            )));
        }
        return super::replay::replay(&config, file);
    }
    if let Some(shard) = args.shard.clone() {
        return check_shard(config, args, &shard);
    }
    let mut store = results::open(&results::results_dir(args.out.clone(), &config))?;
    let exit = check_in(&mut store, config, args)?;
    let report = results::report(&mut store)?;
    eprintln!("report: {}", report.display());
    Ok(exit)
}

/// The check stage into an open store.
pub fn check_in(store: &mut Store, config: Config, args: CheckArgs) -> Result<Exit> {
    results::stage(store, Stage::Check, |w| check_stage(w, config, args))
}

/// What the check runs, from the configuration and the flags: the
/// configuration with the flags' overrides, the selected metrics, the
/// parallelism and the isolation. Usage errors (exit 2) for invalid
/// settings, a run that does not fit in memory, a missing `--plugin` file or
/// no metric at all.
struct Prepared {
    config: Config,
    plugins: PluginSet,
    jobs: usize,
    isolation: Isolation,
}

fn prepare(config: Config, args: &CheckArgs) -> Result<Prepared> {
    let mut config = config;
    if !args.conditions.is_empty() {
        config.check.conditions = args.conditions.clone();
    }
    if !args.seeds.is_empty() {
        config.check.seeds = args.seeds.clone();
    }
    if let Some(n) = args.samples {
        config.check.n_samples = n;
    }
    if args.no_shrink {
        config.check.shrink_trials = 0;
    }
    if !args.metrics.is_empty() {
        config.plugins.metrics = args.metrics.clone();
    }
    config.check.validate().map_err(usage_error)?;
    let max_memory = args
        .max_memory
        .as_deref()
        .map(rdpbench_runner::memory::parse_bytes)
        .transpose()
        .map_err(usage_error)?;
    let jobs = jobs_or_cpus(args.jobs);
    let workbenches = if args.isolate { 1 + jobs } else { 1 };
    rdpbench_runner::memory::ensure_fits(
        "check",
        &rdpbench_runner::memory::check_estimate(&config.toy, &config.check, workbenches),
        max_memory,
    )
    .map_err(usage_error)?;

    let mut plugins = super::setup::discover(&config);
    for file in &args.plugin {
        if !file.is_file() {
            return Err(usage_error(anyhow::anyhow!(
                "--plugin {}: no such file",
                file.display()
            )));
        }
        plugins.load_file(file);
    }
    plugins
        .select_metrics(&config.plugins.metrics)
        .map_err(usage_error)?;
    if plugins.metrics.is_empty() {
        report_errors(&plugins);
        return Err(usage_error(anyhow::anyhow!(
            "no metric plugin loaded: build them with `cargo build --workspace` (or --release), \
             or add folders to [plugins].paths / RDPBENCH_PLUGIN_PATH"
        )));
    }
    let exe = std::env::current_exe()
        .context("cannot find the rdpbench executable to start isolated workers")?;
    let isolation = if args.isolate {
        Isolation::Process { exe }
    } else {
        // Metrics blocked by a hung sibling are re-checked in a worker.
        Isolation::InProcessWithFallback { exe }
    };
    Ok(Prepared {
        config,
        plugins,
        jobs,
        isolation,
    })
}

fn check_stage(
    w: &mut rdpbench_store::StageWriter<'_>,
    config: Config,
    args: CheckArgs,
) -> Result<Exit> {
    let baseline = args
        .baseline
        .as_deref()
        .map(CheckRun::load)
        .transpose()
        .map_err(usage_error)?;
    let Prepared {
        config,
        plugins,
        jobs,
        isolation,
    } = prepare(config, &args)?;
    let out_dir = w.root().to_path_buf();

    let n_conditions = if config.check.conditions.is_empty() {
        ConditionId::ALL.len()
    } else {
        config.check.conditions.len()
    } as u64;
    let started = Instant::now();
    let mut progress = Bar::new(Counts::Subunits(n_conditions));
    let run = if args.merge {
        let plan = check_plan(&out_dir, &plugins, &config.toy, &config.check, &isolation)
            .map_err(usage_error)?;
        merge_check(&plugins, &config.toy, &config.check, &plan)?
    } else {
        run_check_with(
            &plugins,
            &config.toy,
            &config.check,
            jobs,
            &isolation,
            &mut progress,
        )
        .map_err(|e| usage_error(e.context("cannot build the toy workbench from [toy]/[check]")))?
    };
    progress.finish();
    let elapsed = started.elapsed().as_secs_f64();

    results::write_all(w, &run, &rdpbench_reports::check::exporters())?;
    for m in &run.metrics {
        for c in &m.minimal_cases {
            let name = MinimalCase::file_name(&m.report.spec.id, &c.case);
            let text = toml::to_string_pretty(&c.case).context("cannot write a case file")?;
            let header = format!(
                "# rdpbench smallest failing case: {}\n# replay: rdpbench check --replay {}\n",
                c.describe(),
                c.file
            );
            w.write_in(ResultDir::CheckCases, &name, (header + &text).as_bytes())?;
        }
    }
    if args.json {
        out(&Json(ResultFile::CheckJson).render(&run)?)?;
    } else {
        out(&Text.render(&run)?)?;
    }
    eprintln!(
        "{} {} metric(s) in {elapsed:.1} s; results in {}",
        if args.merge { "merged" } else { "checked" },
        run.metrics.len(),
        out_dir.display()
    );

    let mut exit = report_errors(&plugins);
    if run.has_plugin_errors() {
        exit = Exit::Plugin;
    }
    if let Some(base) = baseline {
        let diff = compare_allowing(
            &base,
            &run,
            args.strict,
            &AllowMissing(args.allow_missing.clone()),
        );
        for c in &diff.gained {
            eprintln!("gained: {}", neutralize(&c.describe()));
        }
        for c in &diff.inconclusive {
            eprintln!("inconclusive: {}", neutralize(&c.describe()));
        }
        for m in &diff.allowed_missing {
            eprintln!(
                "not checked (--allow-missing): {}",
                neutralize(&m.describe())
            );
        }
        for c in &diff.lost {
            eprintln!("REGRESSION: {}", neutralize(&c.describe()));
        }
        for m in &diff.lost_missing {
            eprintln!("REGRESSION: {}", neutralize(&m.describe()));
        }
        if !diff.lost_missing.is_empty() {
            eprintln!(
                "{} condition(s) passed in the baseline were not checked; name what may be \
                 missing with --allow-missing METRIC,CONDITION",
                diff.lost_missing.len()
            );
        }
        w.write(
            ResultFile::CheckComparison,
            (serde_json::to_string_pretty(&diff)? + "\n").as_bytes(),
        )?;
        if diff.regressed() {
            return Ok(Exit::Regression);
        }
    }
    if exit == Exit::Ok && args.strict && (run.has_failures() || run.has_inconclusive()) {
        exit = Exit::ConditionsFailed;
    }
    Ok(exit)
}

/// `rdpbench check --shard I/N`: this slice's metrics checked, one record
/// per metric (its check.json entry, minimal cases included) into the
/// results folder's `shards/check/`. Takes no folder lock and writes no
/// result file: shards run side by side, each writing only its own jobs'
/// records (each atomically). Exits 0 once the slice is recorded: the
/// verdicts' exit code (plugin load errors, `--strict`, `--baseline`) is
/// the merge's, so a scheduler runs the merge after every shard succeeded.
fn check_shard(config: Config, args: CheckArgs, shard: &str) -> Result<Exit> {
    let shard = Shard::parse(shard).map_err(usage_error)?;
    let root = results::results_dir(args.out.clone(), &config);
    if let Some(b) = &args.baseline {
        // Read now, so a shard fails as early as the merge would.
        CheckRun::load(b).map_err(usage_error)?;
    }
    let Prepared {
        config,
        plugins,
        isolation,
        ..
    } = prepare(config, &args)?;
    let discovered = report_errors(&plugins);
    let plan =
        check_plan(&root, &plugins, &config.toy, &config.check, &isolation).map_err(usage_error)?;
    let n_conditions = if config.check.conditions.is_empty() {
        ConditionId::ALL.len()
    } else {
        config.check.conditions.len()
    } as u64;
    let mut progress = Bar::new(Counts::Subunits(n_conditions));
    let started = Instant::now();
    let done = run_check_shard(
        &plugins,
        &config.toy,
        &config.check,
        &isolation,
        &plan,
        shard,
        &mut progress,
    );
    progress.finish();
    let (ran, skipped) = done?;
    eprintln!(
        "check shard {shard}: {ran} metric(s) checked, {skipped} already recorded, of {} in all ({:.1} s); records in {}",
        plan.job_ids.len(),
        started.elapsed().as_secs_f64(),
        plan.dir.display()
    );
    Ok(super::merge::shard_exit("check", discovered))
}

//! `rdpbench bench`: time every metric with criterion at several sizes, fit
//! its scaling exponents, write bench.json/.csv/.md into the results folder.

use super::plugins::out;
use super::progress::{Bar, Counts};
use super::results;
use super::setup::discover_metrics;
use anyhow::Result;
use rdpbench_reports::bench::format_ns;
use rdpbench_runner::bench::{
    BenchRows, BenchRun, CriterionOutput, build_cases, run_bench, train_bench_saes,
};
use rdpbench_schema::config::Config;
use rdpbench_schema::exit::{Exit, usage_error};
use rdpbench_store::{CRITERION_LOG, ResultDir, Stage, StageWriter, Store};
use std::path::PathBuf;

#[derive(Debug, Clone, Default, clap::Args)]
pub struct BenchArgs {
    /// SAELens folders to benchmark on (default: train one SAE per [bench].widths).
    #[arg(long = "sae", value_name = "DIR", num_args = 1..)]
    pub saes: Vec<PathBuf>,
    /// Only these metric ids (comma-separated); default: [plugins].metrics, else all.
    #[arg(long, value_delimiter = ',')]
    pub metrics: Vec<String>,
    /// Token counts N (comma-separated); default from [bench].n_tokens.
    #[arg(long = "n-tokens", value_delimiter = ',')]
    pub n_tokens: Vec<usize>,
    /// Widths d_sae of the trained benchmark SAEs; default from [bench].widths.
    #[arg(long, value_delimiter = ',')]
    pub widths: Vec<usize>,
    /// Criterion measurement time per benchmark, seconds; default from [bench].
    #[arg(long)]
    pub measurement_secs: Option<f64>,
    /// Benchmark on the held-out rows of this activation cache (`rdpbench lm
    /// extract`) instead of toy rows; needs --sae folders of SAEs with the
    /// cache's d_model (e.g. OUT/real-saes/* from `rdpbench real`). Oracle
    /// metrics are skipped (real data has no true directions).
    #[arg(long, value_name = "DIR", requires = "saes")]
    pub cache: Option<PathBuf>,
    /// Results folder; default from [output].dir.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Print bench.json on stdout instead of the summary table.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub no_shard: super::no_shard::NoShard,
}

/// criterion's console output: shown on stderr when stderr is a terminal or
/// with `-v` (stdout stays for rdpbench's own output), otherwise appended to
/// `criterion.log` in the criterion folder.
fn criterion_console(criterion_dir: &std::path::Path) -> CriterionOutput {
    use std::io::IsTerminal;
    if std::io::stderr().is_terminal() || tracing::enabled!(tracing::Level::INFO) {
        CriterionOutput::Stderr
    } else {
        CriterionOutput::Log(criterion_dir.join(CRITERION_LOG))
    }
}

/// The stage a benchmark run is: `real_bench` on an activation cache's
/// held-out rows (`--cache`), else `bench`.
fn stage_of(args: &BenchArgs) -> Stage {
    if args.cache.is_some() {
        Stage::RealBench
    } else {
        Stage::Bench
    }
}

/// The bench (or, with `--cache`, real-bench) stage into an open store;
/// returns the run and the exit class (plugin errors → 3).
pub fn run_benchmarks_in(
    store: &mut Store,
    config: &Config,
    args: &BenchArgs,
) -> Result<(BenchRun, Exit)> {
    results::stage(store, stage_of(args), |w| run_benchmarks(w, config, args))
}

fn run_benchmarks(
    w: &mut StageWriter<'_>,
    config: &Config,
    args: &BenchArgs,
) -> Result<(BenchRun, Exit)> {
    let real = args.cache.is_some();
    let mut settings = config.bench.clone();
    if !args.n_tokens.is_empty() {
        settings.n_tokens = args.n_tokens.clone();
    }
    if !args.widths.is_empty() {
        settings.widths = args.widths.clone();
    }
    if let Some(t) = args.measurement_secs {
        settings.measurement_secs = t;
    }
    settings.validate().map_err(usage_error)?;
    let out_dir = w.root().to_path_buf();
    let (mut plugins, mut exit) = discover_metrics(config, args.metrics.clone())?;
    if args.cache.is_some() {
        let oracles: Vec<String> = plugins
            .metrics
            .iter()
            .filter(|m| m.cached_spec().is_oracle())
            .map(|m| m.id().to_string())
            .collect();
        if !oracles.is_empty() {
            eprintln!(
                "bench --cache: skipping oracle metric(s) {} (they read true directions, which real data does not have)",
                oracles.join(", ")
            );
        }
        plugins.metrics.retain(|m| !m.cached_spec().is_oracle());
    }
    if plugins.metrics.is_empty() {
        return Err(usage_error(anyhow::anyhow!(
            "no metric plugin loaded: build them with `cargo build --release --workspace`, \
             or add folders to [plugins].paths / RDPBENCH_PLUGIN_PATH"
        )));
    }
    let mut progress = Bar::new(Counts::Spinner).log_metrics();
    let folders = if args.saes.is_empty() {
        let saes_dir = w.dir_for_tool(ResultDir::BenchSaes)?;
        let folders = train_bench_saes(
            &plugins,
            &settings,
            &config.train,
            &config.toy,
            &saes_dir,
            &mut progress,
        )?;
        w.adopt_tree(ResultDir::BenchSaes)?;
        folders
    } else {
        args.saes.clone()
    };
    let rows = match &args.cache {
        Some(dir) => BenchRows::Cache {
            dir,
            real: &config.real,
        },
        None => BenchRows::Toy(&config.toy),
    };
    let (saes, cases) =
        build_cases(&plugins, &folders, &settings.n_tokens, rows).map_err(usage_error)?;
    let started = std::time::Instant::now();
    progress.finish();
    let criterion = if real {
        ResultDir::RealBenchCriterion
    } else {
        ResultDir::BenchCriterion
    };
    let criterion_dir = w.dir_for_tool(criterion)?;
    let console = criterion_console(&criterion_dir);
    let mut run = run_bench(
        &plugins,
        saes,
        &cases,
        &settings,
        &criterion_dir,
        &console,
        &mut progress,
    )?;
    run.activation_cache = args.cache.clone();
    if let CriterionOutput::Log(log) = &console {
        eprintln!("criterion's own output: {} (shown with -v)", log.display());
    }
    w.adopt_tree(criterion)?;
    results::write_all(w, &run, &rdpbench_reports::bench::exporters(real))?;
    eprintln!(
        "benchmarked {} metric(s) at {} size(s) in {:.1} s; bench.json, bench.csv, bench.md in {}",
        run.metrics.len(),
        cases.len(),
        started.elapsed().as_secs_f64(),
        out_dir.display()
    );
    if run
        .metrics
        .iter()
        .any(|m| m.sizes.iter().any(|s| s.outcome == "error"))
    {
        exit = exit.max(Exit::Plugin);
    }
    Ok((run, exit))
}

/// The summary table: median at the largest size, exponents, R².
pub fn table(run: &BenchRun) -> String {
    let e = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.2}"));
    let mut t = format!(
        "{:<28} {:>12} {:>18} {:>7} {:>7} {:>6}\n",
        "metric", "median", "at (N, d_sae)", "N^", "d_sae^", "R2"
    );
    for m in &run.metrics {
        let (median, at) = m.largest().map_or(("-".into(), "-".into()), |s| {
            (
                format_ns(s.median_ns.unwrap_or(f64::NAN)),
                format!("({}, {})", s.n_tokens, s.d_sae),
            )
        });
        t.push_str(&format!(
            "{:<28} {:>12} {:>18} {:>7} {:>7} {:>6}\n",
            m.metric,
            median,
            at,
            e(m.fit.n_exponent),
            e(m.fit.d_sae_exponent),
            e(m.fit.r_squared)
        ));
    }
    t
}

/// `rdpbench bench`: the bench stage (real-bench with `--cache`) in the
/// results folder.
pub fn bench(config: Config, args: BenchArgs) -> Result<Exit> {
    args.no_shard.refuse("bench")?;
    let mut store = results::open(&results::results_dir(args.out.clone(), &config))?;
    let (run, exit) = run_benchmarks_in(&mut store, &config, &args)?;
    if args.json {
        out(&serde_json::to_string_pretty(&run)?)?;
    } else {
        out(&table(&run))?;
    }
    Ok(exit)
}

//! Command-line interface: argument types (clap derive) and dispatch.
//! Machine output goes to stdout, everything for humans to stderr.

mod bench;
mod check;
mod compare;
mod eval;
mod game;
mod lm;
mod merge;
mod no_shard;
mod planted;
mod plugins;
mod progress;
mod real;
mod replay;
mod report;
mod reproduce;
mod results;
mod run;
mod setup;
mod slurm;
mod train;
mod validity;

use clap::{Parser, Subcommand};
use rdpbench_runner::scaffold::PluginKind;
use rdpbench_schema::config::Config;
use rdpbench_schema::exit::{Exit, classify, usage_error};
use std::path::{Path, PathBuf};

#[derive(Debug, Parser)]
#[command(
    name = "rdpbench",
    version,
    about = "Checks SAE polysemanticity metrics against ground-truth toy models",
    after_help = "Exit codes: 0 ok, 1 internal error, 2 usage/config error, 3 plugin error, \
                  4 conditions failed (check --strict), 5 regression against a baseline, \
                  6 results folder in use by another rdpbench run."
)]
struct Cli {
    /// Configuration file (default: ./rdpbench.toml if it exists, else the embedded defaults).
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    /// More logging on stderr (-v info, -vv debug); RUST_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// List or inspect plugins.
    #[command(subcommand)]
    Plugins(PluginsCommand),
    /// Scaffold a new plugin crate.
    #[command(subcommand)]
    New(NewCommand),
    /// Run every metric through the necessary conditions C1-C11 on toy models.
    Check(check::CheckArgs),
    /// How far each metric can be gamed: edit sequences on oracle SAEs that
    /// improve it while P_gt does not fall ([game]); writes game.json/.md.
    Game(game::GameArgs),
    /// Render stored results as one self-contained HTML report (or re-export
    /// them as Markdown, CSV, JSON, JUnit).
    Report(report::ReportArgs),
    /// What changed between two runs (verdicts, validity ρ, runtime); exit 5 when B
    /// lost a condition A passed (or, with --fail-on, slowed down / lost ρ).
    Compare(compare::CompareArgs),
    /// Train SAEs (one, or a sweep from [train]) on the toy model; each is saved
    /// as a SAELens folder; an interrupted sweep resumes.
    Train(train::TrainArgs),
    /// Metric validity on trained toy SAEs: Spearman ρ with P_gt and
    /// discriminability over a population ([validity]); writes validity.json/.csv/.md.
    Validity(validity::ValidityArgs),
    /// Combine a sharded stage's partial results (`--shard i/n`) into its
    /// result files, byte-identical to an unsharded run; same stage options.
    #[command(subcommand)]
    Merge(merge::MergeCommand),
    /// Run a sharded stage on Slurm: a job array (one shard per task) and a
    /// merge job after it (afterok); `slurm status`, `slurm resubmit`.
    #[command(subcommand)]
    Slurm(slurm::SlurmCommand),
    /// The main job: check, train, reproduce rdp, validity, bench and the
    /// HTML report, all into one results folder; a failed stage does not stop
    /// the later ones.
    Run(run::RunArgs),
    /// Time every metric with criterion on trained SAEs at several sizes
    /// (d_sae x N) and fit its scaling exponents; writes bench.json/.csv/.md.
    Bench(bench::BenchArgs),
    /// Reproduce the paper's toy claims (`rdp`: R1-R3 rate-distortion curves).
    #[command(subcommand)]
    Reproduce(reproduce::ReproduceCommand),
    /// Internal: check one metric for `check --isolate` (job on stdin, JSON
    /// lines on stdout).
    #[command(name = "__check-worker", hide = true)]
    CheckWorker,
    /// The real language model (SmolLM2-135M; data from scripts/fetch-real-data.sh):
    /// greedy generation, Brown perplexity, activation extraction.
    #[command(subcommand)]
    Lm(lm::LmCommand),
    /// Real data: train a small SAE sweep on an activation cache (`lm extract`),
    /// evaluate L0/EV/MSE and every non-oracle metric on held-out documents with
    /// bootstrap intervals, rank against the same configurations on the toy
    /// model; writes real.json/.csv/.md.
    Real(real::RealArgs),
    /// Known features planted into real activations (`--cache`) or a synthetic
    /// heavy-tailed background: R2 on the background, each metric's validity
    /// (toy rho vs planted rho) and C1/C2/C8 on planted ladders; writes
    /// planted.json/.md.
    Planted(planted::PlantedArgs),
    /// Score SAE folders (SAELens v6, any architecture, or rdpbench's own) on
    /// an activations file: L0, MSE, explained variance and every metric with
    /// bootstrap intervals; writes eval.json/.csv. `--shard i/n` evaluates a
    /// slice of the SAEs (`rdpbench merge eval`, `rdpbench slurm eval`).
    Eval(eval::EvalArgs),
    /// Print the embedded default configuration (commented TOML), or with
    /// --effective the configuration in force after layering.
    Config {
        #[arg(long)]
        effective: bool,
    },
}

#[derive(Debug, Subcommand)]
enum PluginsCommand {
    /// List every plugin found (configured folders and the build folder).
    List {
        /// JSON on stdout instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Load one library file and print its declaration and specs.
    Inspect {
        path: PathBuf,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
enum NewCommand {
    /// A metric plugin crate, from metrics/template; with `--lang python`
    /// a Python metric file, from python/metrics/label_entropy.py.
    Metric {
        /// Metric id, e.g. `my-metric`.
        name: String,
        /// Parent folder of a standalone crate, created as DIR/NAME
        /// (default: metrics/NAME in the rdpbench workspace); for Python,
        /// the folder of DIR/NAME.py (default: the current folder).
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
        /// The plugin's language.
        #[arg(long, value_enum, default_value = "rust")]
        lang: Lang,
    },
    /// An SAE-architecture plugin crate, from plugins/sae-template.
    Sae {
        /// Architecture id, e.g. `my-sae`.
        name: String,
        /// Parent folder of a standalone crate, created as DIR/sae-NAME
        /// (default: plugins/sae-NAME in the rdpbench workspace).
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
}

/// The language of a scaffolded metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Lang {
    /// A Rust crate (cdylib).
    Rust,
    /// One Python file run by a worker process (docs/python-metrics.md).
    Python,
}

fn init_logging(verbose: u8) {
    use tracing_subscriber::EnvFilter;
    let default = match verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .without_time()
        .try_init();
}

/// Loads the configuration, tagging failures as usage errors (exit 2).
fn load_config(path: Option<&Path>) -> anyhow::Result<Config> {
    Config::load(path).map_err(usage_error)
}

/// Parses arguments, runs, and reports; returns the exit class.
pub fn run() -> Exit {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                Exit::Usage
            } else {
                Exit::Ok
            };
        }
    };
    init_logging(cli.verbose);
    let result = match cli.command {
        Command::Plugins(PluginsCommand::List { json }) => {
            load_config(cli.config.as_deref()).and_then(|c| plugins::list(&c, json))
        }
        Command::Plugins(PluginsCommand::Inspect { path, json }) => plugins::inspect(&path, json),
        Command::Check(args) => {
            load_config(cli.config.as_deref()).and_then(|c| check::check(c, args))
        }
        Command::Report(args) => {
            load_config(cli.config.as_deref()).and_then(|c| report::report(c, args))
        }
        Command::Compare(args) => compare::compare(args),
        Command::Game(args) => load_config(cli.config.as_deref()).and_then(|c| game::game(c, args)),
        Command::Train(args) => {
            load_config(cli.config.as_deref()).and_then(|c| train::train(c, args))
        }
        Command::Reproduce(cmd) => {
            load_config(cli.config.as_deref()).and_then(|c| reproduce::reproduce(c, cmd))
        }
        Command::Merge(cmd) => {
            load_config(cli.config.as_deref()).and_then(|c| merge::merge(c, cmd))
        }
        Command::Slurm(cmd) => load_config(cli.config.as_deref())
            .and_then(|c| slurm::slurm(cli.config.as_deref(), c, cmd)),
        Command::Run(args) => load_config(cli.config.as_deref()).and_then(|c| run::run(c, args)),
        Command::Bench(args) => {
            load_config(cli.config.as_deref()).and_then(|c| bench::bench(c, args))
        }
        Command::Validity(args) => {
            load_config(cli.config.as_deref()).and_then(|c| validity::validity(c, args))
        }
        Command::CheckWorker => rdpbench_plugin_host::isolate::run_worker(
            std::io::BufReader::new(std::io::stdin()),
            std::io::stdout(),
        )
        .map(|()| Exit::Ok),
        Command::Lm(cmd) => lm::lm(cmd),
        Command::Real(args) => load_config(cli.config.as_deref()).and_then(|c| real::real(c, args)),
        Command::Planted(args) => {
            load_config(cli.config.as_deref()).and_then(|c| planted::planted(c, args))
        }
        Command::Eval(args) => load_config(cli.config.as_deref()).and_then(|c| eval::eval(c, args)),
        Command::New(NewCommand::Metric { name, dir, lang }) => match lang {
            Lang::Rust => plugins::new_plugin(PluginKind::Metric, &name, dir),
            Lang::Python => plugins::new_python_metric(&name, dir),
        },
        Command::New(NewCommand::Sae { name, dir }) => {
            plugins::new_plugin(PluginKind::Sae, &name, dir)
        }
        Command::Config { effective } => {
            if effective {
                load_config(cli.config.as_deref()).and_then(|c| {
                    let text = toml::to_string_pretty(&c)?;
                    plugins::out(&text)?;
                    Ok(Exit::Ok)
                })
            } else {
                plugins::out(rdpbench_schema::config::DEFAULT_TOML).map(|_| Exit::Ok)
            }
        }
    };
    match result {
        Ok(exit) => exit,
        Err(e) => {
            let exit = exit_of(&e);
            eprintln!(
                "error: {}",
                rdpbench_schema::sanitize::neutralize_text(&format!("{e:#}"))
            );
            exit
        }
    }
}

/// The exit class of an error: 6 when a results folder's lock is held by
/// another run, else [`classify`]'s.
fn exit_of(e: &anyhow::Error) -> Exit {
    let locked = e.chain().any(|c| {
        c.downcast_ref::<rdpbench_store::StoreError>()
            .is_some_and(|s| s.is_locked())
    });
    if locked { Exit::Locked } else { classify(e) }
}

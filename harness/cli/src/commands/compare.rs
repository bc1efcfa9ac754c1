//! `rdpbench compare A B`: what changed between two runs (verdicts, validity
//! ρ, runtime), as a terminal table, Markdown or JSON. Exit 5 when B lost a
//! condition A passed, and, with `--fail-on`, on a significant slowdown or
//! ρ drop.

use super::plugins::out;
use anyhow::Result;
use rdpbench_reports::compare::{
    DEFAULT_NOISE_THRESHOLD, RunFiles, compare_runs, render_markdown, render_text,
};
use rdpbench_schema::exit::{Exit, usage_error};
use rdpbench_schema::results::check::AllowMissing;
use std::path::PathBuf;

/// Extra reasons for exit 5.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FailOn {
    /// A metric × size significantly slower in B (bench.json).
    Slowdown,
    /// A metric's ρ dropped beyond the noise band in B (validity.json).
    Validity,
}

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Exit status: 0 nothing regressed; 2 usage error (missing or unreadable \
results, nothing in common); 5 B lost a condition A passed (by failing it, or by not checking it \
unless --allow-missing names it), or a regression named in --fail-on."
)]
pub struct CompareArgs {
    /// The earlier run: a results folder (its check.json, validity.json and
    /// bench.json, whichever exist) or one of those files.
    #[arg(value_name = "A")]
    a: PathBuf,
    /// The later run, likewise.
    #[arg(value_name = "B")]
    b: PathBuf,
    /// Markdown on stdout instead of the terminal table (for a CI job summary).
    #[arg(long, conflicts_with = "json")]
    markdown: bool,
    /// The comparison as JSON on stdout.
    #[arg(long)]
    json: bool,
    /// Runtime: a change counts only when criterion's intervals are disjoint
    /// and |median_B / median_A − 1| exceeds this.
    #[arg(long, default_value_t = DEFAULT_NOISE_THRESHOLD, value_name = "FRACTION")]
    noise_threshold: f64,
    /// Also exit 5 on these (comma-separated): `slowdown` (a significant
    /// runtime increase), `validity` (ρ dropped beyond the noise band).
    #[arg(long, value_delimiter = ',', value_enum)]
    fail_on: Vec<FailOn>,
    /// Metric ids or conditions (e.g. `C9`) that may be missing from B
    /// without counting as lost (comma-separated). Without it, a metric or
    /// condition A passed and B did not check is lost (exit 5).
    #[arg(long, value_delimiter = ',', value_name = "NAMES")]
    allow_missing: Vec<String>,
}

pub fn compare(args: CompareArgs) -> Result<Exit> {
    if !(args.noise_threshold.is_finite() && args.noise_threshold >= 0.0) {
        return Err(usage_error(anyhow::anyhow!(
            "--noise-threshold {}: must be a finite fraction ≥ 0 (0.05 = 5%)",
            args.noise_threshold
        )));
    }
    let a = RunFiles::load(&args.a).map_err(usage_error)?;
    let b = RunFiles::load(&args.b).map_err(usage_error)?;
    let allow = AllowMissing(args.allow_missing.clone());
    let d = compare_runs(&a, &b, args.noise_threshold, &allow).map_err(usage_error)?;
    if args.json {
        out(&serde_json::to_string_pretty(&d)?)?;
    } else if args.markdown {
        out(&render_markdown(&d))?;
    } else {
        out(&render_text(&d))?;
    }
    let mut failed = false;
    if d.has_regressions() {
        eprintln!("{} condition(s) passed in A are lost in B", d.lost());
        failed = true;
    }
    for fail_on in &args.fail_on {
        match fail_on {
            FailOn::Slowdown if d.runtime.is_none() => {
                eprintln!("warning: --fail-on slowdown: the runs do not both have bench.json");
            }
            FailOn::Slowdown if d.slowdowns() > 0 => {
                eprintln!(
                    "{} metric × size row(s) significantly slower in B",
                    d.slowdowns()
                );
                failed = true;
            }
            FailOn::Validity if d.validity.is_none() => {
                eprintln!("warning: --fail-on validity: the runs do not both have validity.json");
            }
            FailOn::Validity if d.rho_drops() > 0 => {
                eprintln!(
                    "{} metric(s) whose rho dropped beyond the noise band in B",
                    d.rho_drops()
                );
                failed = true;
            }
            _ => {}
        }
    }
    Ok(if failed { Exit::Regression } else { Exit::Ok })
}

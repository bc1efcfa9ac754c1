//! `rdpbench compare A B`: what changed between two check runs, as a
//! terminal table, Markdown or JSON; exit 5 when B lost a condition A passed.

use super::plugins::out;
use anyhow::Result;
use rdpbench::exit::{Exit, usage_error};
use rdpbench::report::compare::{diff, render_markdown, render_text};
use rdpbench::report::inputs::check_file;
use rdpbench::results::CheckRun;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct CompareArgs {
    /// The earlier run: a results folder or its check.json.
    #[arg(value_name = "A")]
    a: PathBuf,
    /// The later run: a results folder or its check.json.
    #[arg(value_name = "B")]
    b: PathBuf,
    /// Markdown on stdout instead of the terminal table.
    #[arg(long, conflicts_with = "json")]
    markdown: bool,
    /// The comparison as JSON on stdout.
    #[arg(long)]
    json: bool,
}

pub fn compare(args: CompareArgs) -> Result<Exit> {
    let (pa, pb) = (check_file(&args.a), check_file(&args.b));
    let a = CheckRun::load(&pa).map_err(usage_error)?;
    let b = CheckRun::load(&pb).map_err(usage_error)?;
    let d = diff(&a, &b, &pa.display().to_string(), &pb.display().to_string());
    if args.json {
        out(&serde_json::to_string_pretty(&d)?)?;
    } else if args.markdown {
        out(&render_markdown(&d))?;
    } else {
        out(&render_text(&d))?;
    }
    if d.has_regressions() {
        eprintln!("{} condition(s) passed in A are lost in B", d.lost());
        Ok(Exit::Regression)
    } else {
        Ok(Exit::Ok)
    }
}

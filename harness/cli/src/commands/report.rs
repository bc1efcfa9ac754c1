//! `rdpbench report`: renders stored results as one self-contained HTML
//! file, or re-exports them as Markdown, CSV, JSON or JUnit.

use super::plugins::out;
use super::results;
use anyhow::Result;
use rdpbench_reports::check::{Csv, JUnit, Markdown};
use rdpbench_reports::html::{HtmlReport, ReportInputs};
use rdpbench_reports::{Exporter, Json};
use rdpbench_schema::config::Config;
use rdpbench_schema::exit::{Exit, usage_error};
use rdpbench_store::ResultFile;
use std::path::PathBuf;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Html,
    Markdown,
    Csv,
    Json,
    Junit,
}

#[derive(Debug, clap::Args)]
pub struct ReportArgs {
    /// A results folder (as `rdpbench check` or `rdpbench run` wrote it); default: [output].dir.
    #[arg(value_name = "RESULTS")]
    results: Option<PathBuf>,
    /// Output file, `-` for stdout. Default: report.html in the results
    /// folder for html, stdout for the other formats.
    #[arg(long, short, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Html)]
    format: Format,
}

pub fn report(config: Config, args: ReportArgs) -> Result<Exit> {
    let results = args.results.unwrap_or_else(|| config.output.dir.clone());
    if args.format == Format::Html && args.out.is_none() {
        // The report stage of the folder itself: locks it, writes report.html.
        if !results.is_dir() {
            return Err(usage_error(anyhow::anyhow!(
                "no results folder at {}: give the folder `rdpbench check` or `rdpbench run` wrote",
                results.display()
            )));
        }
        let mut store = results::open(&results)?;
        let path = results::report(&mut store)?;
        eprintln!("wrote {}", path.display());
        return Ok(Exit::Ok);
    }
    let inputs = ReportInputs::load(&results).map_err(usage_error)?;
    let check = || {
        inputs.check.as_ref().ok_or_else(|| {
            usage_error(anyhow::anyhow!(
                "{}: no check results ({})",
                results.display(),
                inputs.check_missing().unwrap_or_default()
            ))
        })
    };
    let text = match args.format {
        Format::Html => HtmlReport.render(&inputs)?,
        Format::Markdown => {
            let mut md = Markdown.render(check()?)?;
            if let Some(v) = &inputs.validity {
                md.push_str("\n## Verdicts and validity on trained SAEs\n\n");
                md.push_str(&rdpbench_reports::validity::verdicts_with_validity(
                    check()?,
                    v,
                ));
            }
            if let Some(r) = &inputs.real {
                md.push('\n');
                md.push_str(&rdpbench_reports::real::markdown(r));
            }
            md
        }
        Format::Csv => Csv.render(check()?)?,
        Format::Json => Json(ResultFile::CheckJson).render(check()?)?,
        Format::Junit => JUnit.render(check()?)?,
    };
    match args.out {
        Some(p) if p.as_os_str() != "-" => {
            rdpbench_store::write_atomic(&p, text.as_bytes())?;
            eprintln!("wrote {}", p.display());
        }
        _ => out(&text)?,
    }
    Ok(Exit::Ok)
}

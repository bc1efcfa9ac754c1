//! `rdpbench report`: renders stored results as one self-contained HTML
//! file, or re-exports them as Markdown, CSV, JSON or JUnit.

use super::plugins::out;
use anyhow::{Context, Result};
use rdpbench::config::Config;
use rdpbench::exit::{Exit, usage_error};
use rdpbench::export::{Csv, Exporter, JUnit, Json, Markdown};
use rdpbench::report::{HtmlReport, ReportInputs, inputs::check_file};
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
    /// A results folder holding check.json, or a check.json file; default: [output].dir.
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
    let inputs = ReportInputs::load(&results).map_err(usage_error)?;
    let text = match args.format {
        Format::Html => HtmlReport.render_inputs(&inputs)?,
        Format::Markdown => {
            let mut md = Markdown.render(&inputs.check)?;
            if let Some(v) = &inputs.validity {
                md.push_str("\n## Verdicts and validity on trained SAEs\n\n");
                md.push_str(&rdpbench::validity::export::verdicts_with_validity(
                    &inputs.check,
                    v,
                ));
            }
            if let Some(r) = &inputs.real {
                md.push('\n');
                md.push_str(&rdpbench::real::markdown(r));
            }
            md
        }
        Format::Csv => Csv.render(&inputs.check)?,
        Format::Json => Json.render(&inputs.check)?,
        Format::Junit => JUnit.render(&inputs.check)?,
    };
    let dest = match (args.out, args.format) {
        (Some(p), _) if p.as_os_str() == "-" => None,
        (Some(p), _) => Some(p),
        (None, Format::Html) => {
            let file = check_file(&results);
            let dir = file.parent().map(PathBuf::from).unwrap_or_default();
            Some(dir.join(HtmlReport.file_name()))
        }
        (None, _) => None,
    };
    match dest {
        None => out(&text)?,
        Some(path) => {
            std::fs::write(&path, &text)
                .with_context(|| format!("cannot write {}", path.display()))?;
            eprintln!("wrote {}", path.display());
        }
    }
    Ok(Exit::Ok)
}

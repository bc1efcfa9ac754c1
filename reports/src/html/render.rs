//! `report.html`: one self-contained HTML file (inline CSS and SVG, no
//! script, no external resource), rendered by tera from [`ReportData`].
//!
//! The templates live in the top-level `reports/` folder and are compiled
//! into the binary, so `rdpbench report` works from anywhere. The root
//! template's name ends in `.html`, so tera autoescapes every `{{ }}`
//! expression: plugin-provided strings (ids, descriptions, reasons, evidence
//! labels) render as text. No template marks anything `safe`; a test checks.

use super::build::build;
use super::data::ReportData;
use super::inputs::ReportInputs;
use crate::Exporter;
use anyhow::{Context, Result};
use rdpbench_store::ResultFile;

/// The templates, by the names they include each other with.
pub const TEMPLATES: [(&str, &str); 3] = [
    ("report.html", include_str!("../../templates/report.html")),
    ("macros.html", include_str!("../../templates/macros.html")),
    ("report.css", include_str!("../../templates/report.css")),
];

/// The root template.
pub const ROOT: &str = "report.html";

/// The compiled templates.
pub fn templates() -> Result<tera::Tera> {
    let mut t = tera::Tera::default();
    t.add_raw_templates(TEMPLATES)
        .context("the embedded report templates do not parse")?;
    Ok(t)
}

/// Renders prepared report data to HTML.
pub fn render(data: &ReportData) -> Result<String> {
    let tera = templates()?;
    let ctx = tera::Context::from_serialize(data).context("report data does not serialize")?;
    tera.render(ROOT, &ctx)
        .map_err(|e| anyhow::anyhow!("cannot render the HTML report: {}", error_chain(&e)))
}

/// tera puts the useful part of an error in its source chain.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

/// The HTML report: an [`Exporter`] of a results folder's [`ReportInputs`].
#[derive(Debug, Default)]
pub struct HtmlReport;

impl Exporter<ReportInputs> for HtmlReport {
    fn format(&self) -> &'static str {
        "html"
    }
    fn file(&self) -> Option<ResultFile> {
        Some(ResultFile::ReportHtml)
    }
    fn render(&self, inputs: &ReportInputs) -> Result<String> {
        render(&build(inputs))
    }
}

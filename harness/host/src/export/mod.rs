//! One small exporter per output format, behind one trait.

mod csv;
mod json;
mod junit;
mod markdown;
mod text;

use crate::results::CheckRun;
use anyhow::Result;

pub use self::csv::Csv;
pub use self::json::Json;
pub use self::junit::JUnit;
pub use self::markdown::Markdown;
pub use self::text::Text;

/// Renders a check run in one format.
pub trait Exporter {
    /// File name in the results folder, e.g. `check.json`.
    fn file_name(&self) -> &'static str;
    fn render(&self, run: &CheckRun) -> Result<String>;
}

/// The exporters written to the results folder.
pub fn file_exporters() -> Vec<Box<dyn Exporter>> {
    vec![
        Box::new(Json),
        Box::new(JUnit),
        Box::new(Markdown),
        Box::new(Csv),
        Box::new(crate::report::HtmlReport),
    ]
}

/// A status as a short word for tables.
pub(crate) fn status_word(s: rdpbench_core::conditions::Status) -> &'static str {
    use rdpbench_core::conditions::Status::*;
    match s {
        Pass => "pass",
        Fail => "FAIL",
        NotApplicable => "n/a",
        Vacuous => "vacuous",
        Error => "ERROR",
    }
}

/// One cell of the metric × condition matrix: the condition's summaries
/// (one per ladder family for C1/C2), with "blind" marked.
pub(crate) fn matrix_cell(
    report: &rdpbench_core::conditions::MetricReport,
    condition: rdpbench_core::conditions::ConditionId,
) -> String {
    let parts: Vec<String> = report
        .summary
        .iter()
        .filter(|s| s.condition == condition)
        .map(|s| {
            let word = status_word(s.status);
            let blind = if s.structurally_blind { " (blind)" } else { "" };
            match s.family {
                Some(f) => format!("{f}:{word}{blind}"),
                None => format!("{word}{blind}"),
            }
        })
        .collect();
    if parts.is_empty() {
        "-".into()
    } else {
        parts.join(" ")
    }
}

//! `check.json`, `check.csv`, `check.md`, `check.junit.xml` and the
//! terminal summary: a [`CheckRun`] in each format, behind [`Exporter`].

mod csv;
mod junit;
mod markdown;
mod text;

use crate::Exporter;
use rdpbench_schema::results::CheckRun;
use rdpbench_store::ResultFile;

pub use self::csv::Csv;
pub use self::junit::JUnit;
pub use self::markdown::Markdown;
pub use self::text::Text;

/// The exporters of the check stage's result files.
pub fn exporters() -> Vec<Box<dyn Exporter<CheckRun>>> {
    vec![
        Box::new(crate::Json(ResultFile::CheckJson)),
        Box::new(JUnit),
        Box::new(Markdown),
        Box::new(Csv),
    ]
}

/// A status as a short word for tables.
pub(crate) fn status_word(s: rdpbench_core::conditions::Status) -> &'static str {
    use rdpbench_core::conditions::Status::*;
    match s {
        Pass => "pass",
        Fail => "FAIL",
        Inconclusive => "inconclusive",
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

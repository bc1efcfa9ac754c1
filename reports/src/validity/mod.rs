//! `validity.json`, `validity.csv`, `validity.md`: a [`ValidityRun`] in
//! each format, behind [`Exporter`].

mod csv;
mod markdown;

use crate::Exporter;
use rdpbench_schema::results::validity::ValidityRun;
use rdpbench_store::ResultFile;

pub use self::csv::ValidityCsv;
pub use self::markdown::{ValidityMarkdown, verdicts_with_validity};

/// The exporters written to the results folder.
pub fn exporters() -> Vec<Box<dyn Exporter<ValidityRun>>> {
    vec![
        Box::new(crate::Json(ResultFile::ValidityJson)),
        Box::new(ValidityCsv),
        Box::new(ValidityMarkdown),
    ]
}

//! One small exporter per format for a [`ValidityRun`], behind one trait
//! (as `crate::export` does for check runs).

mod csv;
mod json;
mod markdown;

use super::results::ValidityRun;
use anyhow::Result;

pub use self::csv::ValidityCsv;
pub use self::json::ValidityJson;
pub use self::markdown::{ValidityMarkdown, verdicts_with_validity};

/// Renders a validity run in one format.
pub trait ValidityExporter {
    /// File name in the results folder, e.g. `validity.json`.
    fn file_name(&self) -> &'static str;
    fn render(&self, run: &ValidityRun) -> Result<String>;
}

/// The exporters written to the results folder.
pub fn validity_exporters() -> Vec<Box<dyn ValidityExporter>> {
    vec![
        Box::new(ValidityJson),
        Box::new(ValidityCsv),
        Box::new(ValidityMarkdown),
    ]
}

/// `(knob, value)` of a sparsity level, e.g. `("k", 2.0)`.
pub(crate) fn sparsity_parts(s: &crate::train::Sparsity) -> (&'static str, f64) {
    use crate::train::Sparsity::*;
    match *s {
        K(v) => ("k", v),
        L1Coefficient(v) => ("l1_coefficient", v),
        L0Coefficient(v) => ("l0_coefficient", v),
    }
}

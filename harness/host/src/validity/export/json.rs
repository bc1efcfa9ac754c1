//! `validity.json`: the full results, schema-versioned (see `results.rs`).

use super::ValidityExporter;
use crate::validity::results::{VALIDITY_FILE, ValidityRun};

#[derive(Debug)]
pub struct ValidityJson;

impl ValidityExporter for ValidityJson {
    fn file_name(&self) -> &'static str {
        VALIDITY_FILE
    }
    fn render(&self, run: &ValidityRun) -> anyhow::Result<String> {
        let mut s = serde_json::to_string_pretty(run)?;
        s.push('\n');
        Ok(s)
    }
}

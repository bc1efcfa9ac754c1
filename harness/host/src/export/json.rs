//! `check.json`: the full results, schema-versioned (see `results.rs`).

use super::Exporter;
use crate::results::CheckRun;

#[derive(Debug)]
pub struct Json;

impl Exporter for Json {
    fn file_name(&self) -> &'static str {
        "check.json"
    }
    fn render(&self, run: &CheckRun) -> anyhow::Result<String> {
        let mut s = serde_json::to_string_pretty(run)?;
        s.push('\n');
        Ok(s)
    }
}

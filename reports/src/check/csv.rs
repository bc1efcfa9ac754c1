//! `check.csv`: one row per verdict.

use crate::Exporter;
use rdpbench_schema::results::CheckRun;
use rdpbench_store::ResultFile;

#[derive(Debug)]
pub struct Csv;

/// Quotes a CSV field when it needs it (RFC 4180).
pub fn field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

impl Exporter<CheckRun> for Csv {
    fn format(&self) -> &'static str {
        "csv"
    }
    fn file(&self) -> Option<ResultFile> {
        Some(ResultFile::CheckCsv)
    }

    fn render(&self, run: &CheckRun) -> anyhow::Result<String> {
        let mut out = String::from(
            "metric,oracle,condition,condition_name,family,seed,status,structurally_blind,reason\n",
        );
        for m in &run.metrics {
            for v in &m.report.verdicts {
                let row = [
                    field(&m.report.spec.id),
                    m.oracle.to_string(),
                    v.condition.to_string(),
                    field(v.condition.name()),
                    v.family.map(|f| f.name().to_string()).unwrap_or_default(),
                    v.seed.map(|s| s.to_string()).unwrap_or_default(),
                    v.status.as_str().to_string(),
                    v.structurally_blind.to_string(),
                    field(&v.reason),
                ];
                out.push_str(&row.join(","));
                out.push('\n');
            }
        }
        Ok(out)
    }
}

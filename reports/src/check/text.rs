//! The terminal summary: a compact metric × condition matrix, then one line
//! per failing or inconclusive condition with its reason. C1 and C2 cells
//! read `AND/OR/growing/absorption`; `*` marks a family the metric is
//! structurally blind to; `?` is inconclusive.

use crate::Exporter;
use rdpbench_core::conditions::{ConditionId, MetricReport, Status};
use rdpbench_schema::results::CheckRun;
use rdpbench_store::ResultFile;

#[derive(Debug)]
pub struct Text;

fn short(s: Status) -> &'static str {
    match s {
        Status::Pass => "ok",
        Status::Fail => "FAIL",
        Status::Inconclusive => "?",
        Status::NotApplicable => "n/a",
        Status::Vacuous => "vac",
        Status::Error => "ERR",
    }
}

fn cell(report: &MetricReport, c: ConditionId) -> String {
    let parts: Vec<String> = report
        .summary
        .iter()
        .filter(|s| s.condition == c)
        .map(|s| {
            format!(
                "{}{}",
                short(s.status),
                if s.structurally_blind { "*" } else { "" }
            )
        })
        .collect();
    if parts.is_empty() {
        "-".into()
    } else {
        parts.join("/")
    }
}

impl Exporter<CheckRun> for Text {
    fn format(&self) -> &'static str {
        "text"
    }
    fn file(&self) -> Option<ResultFile> {
        None
    }

    fn render(&self, run: &CheckRun) -> anyhow::Result<String> {
        let mut header = vec!["metric".to_string()];
        header.extend(ConditionId::ALL.iter().map(|c| c.to_string()));
        let mut rows = vec![header];
        for m in &run.metrics {
            let mut row = vec![format!(
                "{}{}",
                m.report.spec.id,
                if m.oracle { " (oracle)" } else { "" }
            )];
            row.extend(ConditionId::ALL.iter().map(|&c| cell(&m.report, c)));
            rows.push(row);
        }
        let widths: Vec<usize> = (0..rows[0].len())
            .map(|i| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0))
            .collect();
        let mut out = String::new();
        for r in &rows {
            let line: Vec<String> = r
                .iter()
                .zip(&widths)
                .map(|(c, w)| format!("{c:<w$}"))
                .collect();
            out.push_str(line.join("  ").trim_end());
            out.push('\n');
        }
        out.push_str(
            "(C1/C2: AND/OR/growing/absorption ladders; * = structurally blind; vac = vacuous; \
             ? = inconclusive)\n",
        );
        for m in &run.metrics {
            for s in m
                .report
                .summary
                .iter()
                .filter(|s| s.status.is_failure() || s.status == Status::Inconclusive)
            {
                out.push_str(&format!("{}: {}\n", m.report.spec.id, s.reason));
                let case = m
                    .minimal_cases
                    .iter()
                    .find(|c| c.case.condition == s.condition && c.case.family == s.family);
                if let Some(c) = case {
                    out.push_str(&format!("  smallest case: {} [{}]\n", c.describe(), c.file));
                }
            }
        }
        for e in &run.plugin_errors {
            out.push_str(&format!("plugin error: {e}\n"));
        }
        Ok(out)
    }
}

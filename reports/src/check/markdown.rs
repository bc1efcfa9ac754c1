//! `check.md`: the metric × condition matrix and every failure's reason, fit
//! for a CI job summary.

use super::matrix_cell;
use crate::Exporter;
use rdpbench_core::conditions::ConditionId;
use rdpbench_schema::results::CheckRun;
use rdpbench_store::ResultFile;
use std::fmt::Write;

#[derive(Debug)]
pub struct Markdown;

/// Escapes text for a Markdown table cell.
fn cell(s: &str) -> String {
    s.replace('|', "\\|")
        .replace('\n', " ")
        .replace('<', "&lt;")
}

impl Exporter<CheckRun> for Markdown {
    fn format(&self) -> &'static str {
        "markdown"
    }
    fn file(&self) -> Option<ResultFile> {
        Some(ResultFile::CheckMarkdown)
    }

    fn render(&self, run: &CheckRun) -> anyhow::Result<String> {
        let mut md = String::from("# rdpbench check\n\n");
        writeln!(
            md,
            "Seeds {:?}, N = {}, {} bootstrap resamples. C1/C2 cells list the AND, OR, growing \
             and absorption ladders; \"blind\" marks a family the metric cannot see by its inputs; \
             \"inconclusive\" is a margin test whose interval straddles the margin (a failure only \
             with `--strict`).\n",
            run.settings.seeds, run.settings.n_samples, run.settings.bootstrap_resamples
        )?;
        md.push_str("| metric |");
        for c in ConditionId::ALL {
            write!(md, " {c} |")?;
        }
        md.push_str("\n|---|");
        md.push_str(&"---|".repeat(ConditionId::ALL.len()));
        md.push('\n');
        for m in &run.metrics {
            let oracle = if m.oracle { " (oracle)" } else { "" };
            write!(md, "| `{}`{oracle} |", cell(&m.report.spec.id))?;
            for c in ConditionId::ALL {
                write!(md, " {} |", cell(&matrix_cell(&m.report, c)))?;
            }
            md.push('\n');
        }
        let failures: Vec<String> = run
            .metrics
            .iter()
            .flat_map(|m| {
                m.report
                    .summary
                    .iter()
                    .filter(|s| s.status.is_failure())
                    .map(move |s| {
                        let case = m
                            .minimal_cases
                            .iter()
                            .find(|c| c.case.condition == s.condition && c.case.family == s.family)
                            .map(|c| {
                                format!(
                                    "\n  - smallest failing case: {} (`{}`)",
                                    cell(&c.describe()),
                                    c.file
                                )
                            })
                            .unwrap_or_default();
                        format!(
                            "- `{}` {}: {}{case}",
                            cell(&m.report.spec.id),
                            s.condition,
                            cell(&s.reason)
                        )
                    })
            })
            .collect();
        if !failures.is_empty() {
            md.push_str("\n## Failures\n\n");
            md.push_str(&failures.join("\n"));
            md.push('\n');
        }
        let inconclusive: Vec<String> = run
            .metrics
            .iter()
            .flat_map(|m| {
                m.report
                    .summary
                    .iter()
                    .filter(|s| s.status == rdpbench_core::conditions::Status::Inconclusive)
                    .map(move |s| {
                        format!(
                            "- `{}` {}: {}",
                            cell(&m.report.spec.id),
                            s.condition,
                            cell(&s.reason)
                        )
                    })
            })
            .collect();
        if !inconclusive.is_empty() {
            md.push_str("\n## Inconclusive\n\n");
            md.push_str(&inconclusive.join("\n"));
            md.push('\n');
        }
        if !run.plugin_errors.is_empty() {
            md.push_str("\n## Plugin errors\n\n");
            for e in &run.plugin_errors {
                writeln!(md, "- `{}`: {}", e.path.display(), cell(&e.message))?;
            }
        }
        Ok(md)
    }
}

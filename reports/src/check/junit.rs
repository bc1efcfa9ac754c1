//! `check.junit.xml`: one test suite per metric, one test case per
//! condition × ladder family × seed. Failures carry the reason and the
//! evidence; n/a and vacuous verdicts are skipped cases.

use crate::Exporter;
use rdpbench_core::conditions::{Status, Verdict};
use rdpbench_schema::results::CheckRun;
use rdpbench_store::ResultFile;
use std::fmt::Write;

#[derive(Debug)]
pub struct JUnit;

/// Escapes text for XML attributes and content.
pub fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if (c as u32) < 0x20 && c != '\n' && c != '\t' => {}
            c => out.push(c),
        }
    }
    out
}

fn case_name(v: &Verdict) -> String {
    let mut name = format!("{} {}", v.condition, v.condition.name());
    let scope = v.scope();
    if !scope.is_empty() {
        name.push_str(&format!(" [{scope}]"));
    }
    name
}

fn evidence(v: &Verdict) -> String {
    let f = |x: Option<f64>| x.map_or("-".to_string(), |x| format!("{x:.6}"));
    v.evidence
        .iter()
        .map(|c| {
            format!(
                "{}: lhs {} rhs {} diff {} ci [{}, {}] allowed {}",
                c.label,
                f(c.lhs),
                f(c.rhs),
                f(c.diff),
                f(c.ci_low),
                f(c.ci_high),
                f(c.allowed)
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

impl Exporter<CheckRun> for JUnit {
    fn format(&self) -> &'static str {
        "junit"
    }
    fn file(&self) -> Option<ResultFile> {
        Some(ResultFile::CheckJunit)
    }

    fn render(&self, run: &CheckRun) -> anyhow::Result<String> {
        let count =
            |s: &[&Verdict], pred: fn(Status) -> bool| s.iter().filter(|v| pred(v.status)).count();
        let all: Vec<&Verdict> = run
            .metrics
            .iter()
            .flat_map(|m| &m.report.verdicts)
            .collect();
        let mut x = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        writeln!(
            x,
            "<testsuites name=\"rdpbench check\" tests=\"{}\" failures=\"{}\" errors=\"{}\">",
            all.len(),
            count(&all, |s| s == Status::Fail),
            count(&all, |s| s == Status::Error) + run.plugin_errors.len()
        )?;
        if !run.plugin_errors.is_empty() {
            writeln!(
                x,
                "  <testsuite name=\"plugin loading\" tests=\"{0}\" failures=\"0\" errors=\"{0}\">",
                run.plugin_errors.len()
            )?;
            for e in &run.plugin_errors {
                writeln!(
                    x,
                    "    <testcase classname=\"rdpbench.plugins\" name=\"{}\">\n      <error message=\"{}\"/>\n    </testcase>",
                    xml_escape(&e.path.display().to_string()),
                    xml_escape(&e.message)
                )?;
            }
            x.push_str("  </testsuite>\n");
        }
        for m in &run.metrics {
            let vs: Vec<&Verdict> = m.report.verdicts.iter().collect();
            let id = xml_escape(&m.report.spec.id);
            writeln!(
                x,
                "  <testsuite name=\"{id}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\">",
                vs.len(),
                count(&vs, |s| s == Status::Fail),
                count(&vs, |s| s == Status::Error),
                count(&vs, |s| matches!(
                    s,
                    Status::NotApplicable | Status::Vacuous | Status::Inconclusive
                ))
            )?;
            for v in vs {
                write!(
                    x,
                    "    <testcase classname=\"rdpbench.{id}\" name=\"{}\"",
                    xml_escape(&case_name(v))
                )?;
                let msg = xml_escape(&v.reason);
                match v.status {
                    Status::Pass => x.push_str("/>\n"),
                    Status::Fail => writeln!(
                        x,
                        ">\n      <failure message=\"{msg}\">{}</failure>\n    </testcase>",
                        xml_escape(&evidence(v))
                    )?,
                    Status::Error => {
                        writeln!(x, ">\n      <error message=\"{msg}\"/>\n    </testcase>")?
                    }
                    // Neither a pass nor a FAIL: reported as skipped with its
                    // reason (and the sample size that would resolve it);
                    // `--strict` fails the run on it, not the XML.
                    Status::Inconclusive => writeln!(
                        x,
                        ">\n      <skipped message=\"inconclusive: {msg}\"/>\n    </testcase>"
                    )?,
                    Status::NotApplicable | Status::Vacuous => writeln!(
                        x,
                        ">\n      <skipped message=\"{}: {msg}\"/>\n    </testcase>",
                        v.status.as_str()
                    )?,
                }
            }
            x.push_str("  </testsuite>\n");
        }
        x.push_str("</testsuites>\n");
        Ok(x)
    }
}

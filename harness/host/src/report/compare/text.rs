//! The terminal rendering of a comparison: an aligned table of changes and
//! a one-line tally.

use super::{CompareData, condition_text, status_text};

/// Plain-text table for a terminal.
pub fn render_text(d: &CompareData) -> String {
    let mut out = format!("A: {}\nB: {}\n", d.a, d.b);
    for n in &d.notes {
        out.push_str(&format!("note: {n}\n"));
    }
    if d.rows.is_empty() {
        out.push_str("no verdict changed\n");
    } else {
        let mut rows = vec![[
            "change".to_string(),
            "metric".into(),
            "condition".into(),
            "A".into(),
            "B".into(),
            "reason (B)".into(),
        ]];
        for r in &d.rows {
            rows.push([
                r.kind.as_str().to_string(),
                format!("{}{}", r.metric, if r.oracle { " (oracle)" } else { "" }),
                condition_text(r),
                status_text(r.before).to_string(),
                status_text(r.after).to_string(),
                r.reason.replace('\n', " "),
            ]);
        }
        let widths: Vec<usize> = (0..5)
            .map(|i| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0))
            .collect();
        for r in &rows {
            let mut line = String::new();
            for (cell, w) in r.iter().zip(&widths) {
                line.push_str(&format!("{cell:<w$}  "));
            }
            line.push_str(&r[5]);
            out.push_str(line.trim_end());
            out.push('\n');
        }
    }
    for m in &d.missing_metrics {
        out.push_str(&format!("metric `{m}` is in A but was not checked in B\n"));
    }
    for m in &d.new_metrics {
        out.push_str(&format!("metric `{m}` is new in B\n"));
    }
    out.push_str(&format!(
        "{} lost, {} gained, {} other change(s)\n",
        d.lost(),
        d.gained(),
        d.count(super::ChangeKind::Changed)
    ));
    out
}

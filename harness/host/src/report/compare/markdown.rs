//! The Markdown rendering of a comparison, for a CI job summary or a pull
//! request comment.

use super::{ChangeKind, CompareData, condition_text, status_text};
use std::fmt::Write;

/// Escapes text for a Markdown table cell (and keeps HTML inert).
fn cell(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('|', "\\|")
        .replace(['\n', '\r'], " ")
}

/// A Markdown section: tally, table of changes, notes.
pub fn render_markdown(d: &CompareData) -> String {
    let mut md = String::from("# rdpbench compare\n\n");
    let _ = writeln!(md, "A: `{}`  \nB: `{}`\n", cell(&d.a), cell(&d.b));
    let _ = writeln!(
        md,
        "**{} lost**, {} gained, {} other change(s).\n",
        d.lost(),
        d.gained(),
        d.count(ChangeKind::Changed)
    );
    if !d.rows.is_empty() {
        md.push_str(
            "| change | metric | condition | A | B | reason (B) |\n|---|---|---|---|---|---|\n",
        );
        for r in &d.rows {
            let kind = match r.kind {
                ChangeKind::Lost => "**LOST**",
                ChangeKind::Gained => "gained",
                ChangeKind::Changed => "changed",
            };
            let _ = writeln!(
                md,
                "| {kind} | `{}`{} | {} | {} | {} | {} |",
                cell(&r.metric),
                if r.oracle { " (oracle)" } else { "" },
                condition_text(r),
                status_text(r.before),
                status_text(r.after),
                cell(&r.reason)
            );
        }
        md.push('\n');
    }
    let mut extra: Vec<String> = Vec::new();
    extra.extend(
        d.missing_metrics
            .iter()
            .map(|m| format!("- metric `{}` is in A but was not checked in B", cell(m))),
    );
    extra.extend(
        d.new_metrics
            .iter()
            .map(|m| format!("- metric `{}` is new in B", cell(m))),
    );
    extra.extend(d.notes.iter().map(|n| format!("- {}", cell(n))));
    if !extra.is_empty() {
        md.push_str("## Notes\n\n");
        md.push_str(&extra.join("\n"));
        md.push('\n');
    }
    md
}

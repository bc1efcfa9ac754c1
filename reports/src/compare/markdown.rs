//! The Markdown rendering of a comparison, for a CI job summary or a pull
//! request comment.

use super::{
    ChangeKind, CompareData, RhoChange, RuntimeChange, RuntimeComparison, ValidityComparison,
    condition_text, format_ci, format_delta, format_rho, format_time, status_text,
};
use std::fmt::Write;

/// Escapes text for a Markdown table cell (and keeps HTML inert).
fn cell(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('|', "\\|")
        .replace(['\n', '\r'], " ")
}

/// A Markdown section: tallies, tables of changes, notes.
pub fn render_markdown(d: &CompareData) -> String {
    let mut md = String::from("# rdpbench compare\n\n");
    let _ = writeln!(md, "A: `{}`  \nB: `{}`\n", cell(&d.a), cell(&d.b));
    if d.verdicts_compared {
        verdicts(d, &mut md);
    }
    if let Some(v) = &d.validity {
        validity(v, &mut md);
    }
    if let Some(r) = &d.runtime {
        runtime(r, &mut md);
    }
    if let Some(e) = &d.eval {
        let _ = writeln!(md, "\n## eval\n\n```{}```", super::eval::render(e));
    }
    notes(d, &mut md);
    md
}

fn verdicts(d: &CompareData, md: &mut String) {
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
}

fn validity(v: &ValidityComparison, md: &mut String) {
    md.push_str("## Validity (Spearman ρ of score vs P_gt)\n\n");
    let rose = v
        .rows
        .iter()
        .filter(|r| r.change == RhoChange::Rose)
        .count();
    let _ = writeln!(
        md,
        "**{} dropped**, {rose} rose beyond the noise band (bootstrap intervals, {:.0}% / {:.0}%, do not overlap).\n",
        v.dropped(),
        100.0 * v.confidence[0],
        100.0 * v.confidence[1]
    );
    md.push_str(
        "| change | metric | ρ A | CI A | ρ B | CI B | Δρ |\n|---|---|---:|---|---:|---|---:|\n",
    );
    for r in &v.rows {
        let change = match r.change {
            RhoChange::Dropped => "**DROPPED**",
            c => c.as_str(),
        };
        let _ = writeln!(
            md,
            "| {change} | `{}`{} | {} | {} | {} | {} | {} |",
            cell(&r.metric),
            if r.oracle { " (oracle)" } else { "" },
            format_rho(r.a.and_then(|s| s.rho)),
            format_ci(r.a.and_then(|s| s.ci)),
            format_rho(r.b.and_then(|s| s.rho)),
            format_ci(r.b.and_then(|s| s.ci)),
            format_delta(r.delta)
        );
    }
    md.push('\n');
}

fn runtime(r: &RuntimeComparison, md: &mut String) {
    md.push_str("## Runtime (criterion median per call)\n\n");
    let _ = writeln!(
        md,
        "**{} slower**, {} faster (criterion intervals disjoint and \\|B/A − 1\\| > {}).\n",
        r.slower(),
        r.faster(),
        r.noise_threshold
    );
    md.push_str(
        "| change | metric | N | d_sae | median A | median B | B/A |\n|---|---|---:|---:|---:|---:|---:|\n",
    );
    for x in &r.rows {
        let change = match x.change {
            RuntimeChange::Slower => "**SLOWER**",
            c => c.as_str(),
        };
        let _ = writeln!(
            md,
            "| {change} | `{}`{} | {} | {} | {} | {} | {} |",
            cell(&x.metric),
            if x.oracle { " (oracle)" } else { "" },
            x.n_tokens,
            x.d_sae,
            format_time(x.a.as_ref()),
            format_time(x.b.as_ref()),
            x.ratio.map_or("–".into(), |v| format!("{v:.2}×"))
        );
    }
    md.push('\n');
}

fn notes(d: &CompareData, md: &mut String) {
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
    let sections = d.validity.iter().flat_map(|v| &v.notes);
    extra.extend(sections.map(|n| format!("- {}", cell(n))));
    let sections = d.runtime.iter().flat_map(|r| &r.notes);
    extra.extend(sections.map(|n| format!("- {}", cell(n))));
    if !extra.is_empty() {
        md.push_str("## Notes\n\n");
        md.push_str(&extra.join("\n"));
        md.push('\n');
    }
}

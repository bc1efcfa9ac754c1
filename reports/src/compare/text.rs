//! The terminal rendering of a comparison: aligned tables of verdict
//! changes, ρ deltas and runtime deltas, each with a one-line tally.

use super::{
    CompareData, RuntimeComparison, ValidityComparison, condition_text, format_ci, format_delta,
    format_rho, format_time, status_text,
};

/// Left-aligned columns, two spaces apart; the last column is not padded.
fn aligned(rows: &[Vec<String>]) -> String {
    let n_cols = rows.first().map_or(0, Vec::len);
    let widths: Vec<usize> = (0..n_cols)
        .map(|i| {
            rows.iter()
                .map(|r| r.get(i).map_or(0, |c| c.chars().count()))
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for r in rows {
        let mut line = String::new();
        for (i, cell) in r.iter().enumerate() {
            if i + 1 == r.len() {
                line.push_str(cell);
            } else {
                let w = widths[i];
                line.push_str(&format!("{cell:<w$}  "));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// Plain-text tables for a terminal.
pub fn render_text(d: &CompareData) -> String {
    let mut out = format!("A: {}\nB: {}\n", d.a, d.b);
    for n in &d.notes {
        out.push_str(&format!("note: {n}\n"));
    }
    if d.verdicts_compared {
        out.push_str(&verdicts(d));
    }
    if let Some(v) = &d.validity {
        out.push_str(&validity(v));
    }
    if let Some(r) = &d.runtime {
        out.push_str(&runtime(r));
    }
    if let Some(e) = &d.eval {
        out.push_str(&super::eval::render(e));
    }
    out
}

fn verdicts(d: &CompareData) -> String {
    let mut out = String::new();
    if d.rows.is_empty() {
        out.push_str("no verdict changed\n");
    } else {
        let mut rows = vec![vec![
            "change".to_string(),
            "metric".into(),
            "condition".into(),
            "A".into(),
            "B".into(),
            "reason (B)".into(),
        ]];
        for r in &d.rows {
            rows.push(vec![
                r.kind.as_str().to_string(),
                format!("{}{}", r.metric, if r.oracle { " (oracle)" } else { "" }),
                condition_text(r),
                status_text(r.before).to_string(),
                status_text(r.after).to_string(),
                r.reason.replace('\n', " "),
            ]);
        }
        out.push_str(&aligned(&rows));
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

fn validity(v: &ValidityComparison) -> String {
    let mut out = format!(
        "\nvalidity: Spearman rho(score, P_gt); significant when the bootstrap intervals ({:.0}% / {:.0}%) do not overlap\n",
        100.0 * v.confidence[0],
        100.0 * v.confidence[1]
    );
    for n in &v.notes {
        out.push_str(&format!("note: {n}\n"));
    }
    let mut rows = vec![vec![
        "change".to_string(),
        "metric".into(),
        "rho A".into(),
        "CI A".into(),
        "rho B".into(),
        "CI B".into(),
        "delta".into(),
    ]];
    for r in &v.rows {
        rows.push(vec![
            r.change.as_str().to_string(),
            format!("{}{}", r.metric, if r.oracle { " (oracle)" } else { "" }),
            format_rho(r.a.and_then(|s| s.rho)),
            format_ci(r.a.and_then(|s| s.ci)),
            format_rho(r.b.and_then(|s| s.rho)),
            format_ci(r.b.and_then(|s| s.ci)),
            format_delta(r.delta),
        ]);
    }
    out.push_str(&aligned(&rows));
    let rose = v.rows.iter().filter(|r| r.change == super::RhoChange::Rose);
    out.push_str(&format!(
        "{} rho dropped, {} rose beyond the noise band\n",
        v.dropped(),
        rose.count()
    ));
    out
}

fn runtime(r: &RuntimeComparison) -> String {
    let mut out = format!(
        "\nruntime: median per call; significant when the criterion intervals are disjoint and |B/A - 1| > {}\n",
        r.noise_threshold
    );
    for n in &r.notes {
        out.push_str(&format!("note: {n}\n"));
    }
    let mut rows = vec![vec![
        "change".to_string(),
        "metric".into(),
        "N".into(),
        "d_sae".into(),
        "median A".into(),
        "median B".into(),
        "B/A".into(),
    ]];
    for x in &r.rows {
        rows.push(vec![
            x.change.as_str().to_string(),
            format!("{}{}", x.metric, if x.oracle { " (oracle)" } else { "" }),
            x.n_tokens.to_string(),
            x.d_sae.to_string(),
            format_time(x.a.as_ref()),
            format_time(x.b.as_ref()),
            x.ratio.map_or("–".into(), |v| format!("{v:.2}x")),
        ]);
    }
    out.push_str(&aligned(&rows));
    out.push_str(&format!(
        "{} slower, {} faster beyond the noise\n",
        r.slower(),
        r.faster()
    ));
    out
}

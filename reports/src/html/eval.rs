//! The report's "Evaluated SAEs" section, from an `eval.json`
//! (`rdpbench eval`): one row per SAE with its core numbers and every
//! metric's value and interval; each metric's column header carries its
//! `rdpbench check` verdicts (conditions passed of run, the failed ones),
//! so a reader sees which columns to trust. Rows are ordered by explained
//! variance, highest first (the report has no script, so the table is not
//! re-sortable in the page; `eval.csv` holds the same numbers). Every
//! plugin-provided string lands in a table cell, which the template escapes.

use super::data::{ExtraSection, SectionContent, Table};
use rdpbench_schema::results::eval::{EvalMetric, EvalRun};

fn opt(v: Option<f64>) -> String {
    v.map_or("–".into(), |v| format!("{v:.4}"))
}

fn metric_cell(m: Option<&EvalMetric>) -> String {
    match m {
        None => "–".into(),
        Some(m) => match (m.value, m.ci_low, m.ci_high) {
            (Some(v), Some(a), Some(b)) => format!("{v:.4} [{a:.4}, {b:.4}]"),
            (Some(v), _, _) => format!("{v:.4}"),
            (None, _, _) => format!("– ({})", m.note.as_deref().unwrap_or("no value")),
        },
    }
}

/// The header of metric `id`'s column: the id and its check verdicts.
fn metric_header(run: &EvalRun, id: &str) -> String {
    let check = run
        .saes
        .iter()
        .find_map(|s| s.metrics.get(id).and_then(|m| m.check.as_ref()));
    match check {
        None => format!("{id} (not checked)"),
        Some(c) if c.failed.is_empty() => format!("{id} (check: {}/{} pass)", c.passed, c.total),
        Some(c) => format!(
            "{id} (check: {}/{} pass; fails {})",
            c.passed,
            c.total,
            c.failed.join(", ")
        ),
    }
}

/// The section; without `eval.json`, the note naming the command.
pub fn section(run: Option<&EvalRun>) -> ExtraSection {
    ExtraSection {
        id: "evaluated-saes",
        title: "Evaluated SAEs",
        content: run.map(content),
        needs: "eval.json (`rdpbench eval --sae DIR… --activations PATH`)",
    }
}

fn content(run: &EvalRun) -> SectionContent {
    let ids = run.metric_ids();
    let mut columns: Vec<String> = [
        "SAE",
        "architecture",
        "d_sae",
        "L0",
        "MSE",
        "explained variance",
        "EV (legacy)",
        "cos sim",
        "L2 ratio",
        "rel. recon. bias",
        "dead",
        "dense",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    columns.extend(ids.iter().map(|id| metric_header(run, id)));
    let mut saes: Vec<_> = run.saes.iter().collect();
    saes.sort_by(|a, b| {
        b.explained_variance
            .unwrap_or(f64::NEG_INFINITY)
            .total_cmp(&a.explained_variance.unwrap_or(f64::NEG_INFINITY))
    });
    let rows = saes
        .iter()
        .map(|s| {
            let mut r = vec![
                s.path.clone(),
                s.architecture.clone(),
                s.d_sae.to_string(),
                format!("{:.2}", s.l0),
                format!("{:.5}", s.mse),
                opt(s.explained_variance),
                opt(s.explained_variance_legacy),
                opt(s.cossim),
                format!("{:.4}", s.l2_ratio),
                opt(s.relative_reconstruction_bias),
                format!("{:.3}", s.dead_fraction),
                format!("{:.3}", s.dense_fraction),
            ];
            r.extend(ids.iter().map(|id| metric_cell(s.metrics.get(id))));
            r
        })
        .collect();
    SectionContent {
        intro: format!(
            "{} tokens of {} (d_in {}); core numbers with SAELens's definitions (docs/eval.md), metrics on the first {} tokens with {:.0}% token-bootstrap intervals. Rows by explained variance, highest first.",
            run.activations.n_tokens,
            run.activations.path,
            run.activations.d_in,
            run.settings.metric_tokens.min(run.activations.n_tokens),
            100.0 * run.settings.confidence
        ),
        tables: vec![Table {
            caption: "SAEs × numbers (metric headers: their rdpbench check verdicts)".into(),
            columns,
            rows,
        }],
        charts: Vec::new(),
        heatmaps: Vec::new(),
    }
}

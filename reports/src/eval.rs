//! `eval.json`, `eval.csv` and the terminal table: an [`EvalRun`] in each
//! format.

use crate::{Exporter, FnExporter, Json};
use rdpbench_schema::results::eval::EvalRun;
use rdpbench_store::ResultFile;

/// The exporters of the eval stage's result files.
pub fn exporters() -> Vec<Box<dyn Exporter<EvalRun>>> {
    vec![
        Box::new(Json(ResultFile::EvalJson)),
        Box::new(FnExporter::new("csv", ResultFile::EvalCsv, csv)),
    ]
}

fn num(v: Option<f64>) -> String {
    v.map_or(String::new(), |v| format!("{v}"))
}

/// A CSV field: quoted when it holds a comma, quote or newline.
fn field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// The core columns of `eval.csv`, in order (after `sae,architecture,plugin,d_in,d_sae,n_tokens`).
pub const CORE_COLUMNS: [&str; 13] = [
    "l0",
    "l1",
    "mse",
    "mse_elementwise",
    "explained_variance",
    "explained_variance_legacy",
    "cossim",
    "l2_norm_in",
    "l2_norm_out",
    "l2_ratio",
    "relative_reconstruction_bias",
    "dead_fraction",
    "dense_fraction",
];

/// `eval.csv`: one row per SAE; the core numbers, then `<metric>`,
/// `<metric>.ci_low`, `<metric>.ci_high` for every metric scored.
pub fn csv(run: &EvalRun) -> String {
    let ids = run.metric_ids();
    let mut out = String::from("sae,architecture,plugin,d_in,d_sae,n_tokens");
    for c in CORE_COLUMNS {
        out.push(',');
        out.push_str(c);
    }
    for id in &ids {
        out.push_str(&format!(",{id},{id}.ci_low,{id}.ci_high"));
    }
    out.push('\n');
    for s in &run.saes {
        let cells: Vec<String> = vec![
            field(&s.path),
            field(&s.architecture),
            field(&s.plugin),
            s.d_in.to_string(),
            s.d_sae.to_string(),
            s.n_tokens.to_string(),
            s.l0.to_string(),
            s.l1.to_string(),
            s.mse.to_string(),
            s.mse_elementwise.to_string(),
            num(s.explained_variance),
            num(s.explained_variance_legacy),
            num(s.cossim),
            s.l2_norm_in.to_string(),
            s.l2_norm_out.to_string(),
            s.l2_ratio.to_string(),
            num(s.relative_reconstruction_bias),
            s.dead_fraction.to_string(),
            s.dense_fraction.to_string(),
        ];
        out.push_str(&cells.join(","));
        for id in &ids {
            let m = s.metrics.get(id);
            out.push_str(&format!(
                ",{},{},{}",
                num(m.and_then(|m| m.value)),
                num(m.and_then(|m| m.ci_low)),
                num(m.and_then(|m| m.ci_high))
            ));
        }
        out.push('\n');
    }
    out
}

/// The terminal summary: one line per SAE with the headline numbers.
pub fn text(run: &EvalRun) -> String {
    let mut out = format!(
        "{} tokens of {} (d_in {})\n{:<40} {:<16} {:>7} {:>9} {:>12} {:>8} {:>6}\n",
        run.activations.n_tokens,
        run.activations.path,
        run.activations.d_in,
        "sae",
        "architecture",
        "d_sae",
        "l0",
        "mse",
        "ev",
        "dead"
    );
    for s in &run.saes {
        out.push_str(&format!(
            "{:<40} {:<16} {:>7} {:>9.3} {:>12.5} {:>8} {:>6.3}\n",
            s.path,
            s.architecture,
            s.d_sae,
            s.l0,
            s.mse,
            s.explained_variance
                .map_or("-".into(), |v| format!("{v:.4}")),
            s.dead_fraction
        ));
        for (id, m) in &s.metrics {
            let v = match (m.value, m.ci_low, m.ci_high) {
                (Some(v), Some(a), Some(b)) => format!("{v:.5} [{a:.5}, {b:.5}]"),
                (Some(v), _, _) => format!("{v:.5}"),
                (None, _, _) => format!("- ({})", m.note.as_deref().unwrap_or("no value")),
            };
            out.push_str(&format!("    {id:<32} {v}\n"));
        }
    }
    out
}

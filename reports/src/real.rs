//! `real.json`, `real.csv`, `real.md`: a [`RealRun`] in each format.

use crate::{Exporter, FnExporter, Json};
use rdpbench_schema::results::real::{Estimate, RealRun, RealSaeRow};
use rdpbench_schema::results::train::Sparsity;
use rdpbench_schema::results::validity::{RhoEstimate, SaeScore};
use rdpbench_store::ResultFile;

/// The exporters of the real stage's result files.
pub fn exporters() -> Vec<Box<dyn Exporter<RealRun>>> {
    vec![
        Box::new(Json(ResultFile::RealJson)),
        Box::new(FnExporter::new("csv", ResultFile::RealCsv, csv)),
        Box::new(FnExporter::new(
            "markdown",
            ResultFile::RealMarkdown,
            markdown,
        )),
    ]
}

fn num(v: Option<f64>) -> String {
    v.map_or(String::new(), |v| format!("{v}"))
}

fn ci_cells(ci: Option<[f64; 2]>) -> (String, String) {
    ci.map_or((String::new(), String::new()), |[a, b]| {
        (format!("{a}"), format!("{b}"))
    })
}

/// `real.csv`: one row per SAE and quantity (L0, EV, MSE, every metric).
pub fn csv(run: &RealRun) -> String {
    let mut out = String::from(
        "sae_id,architecture,sparsity,quantity,kind,value,ci_low,ci_high,n_resamples_defined\n",
    );
    let knob = |s: &Sparsity| {
        let (k, v) = (s.knob.as_str(), s.value);
        format!("{k}={v}")
    };
    let mut row = |sae: &RealSaeRow, q: &str, kind: &str, v: Option<f64>, ci, n: usize| {
        let (lo, hi) = ci_cells(ci);
        out.push_str(&format!(
            "{},{},{},{q},{kind},{},{lo},{hi},{n}\n",
            sae.id,
            sae.architecture,
            knob(&sae.sparsity),
            num(v)
        ));
    };
    for sae in &run.saes {
        for (q, e) in [
            ("l0", &sae.quality.l0),
            ("explained_variance", &sae.quality.explained_variance),
            ("mse", &sae.quality.mse),
        ] {
            let e: &Estimate = e;
            row(sae, q, "value", e.value, e.ci, e.n_resamples_defined);
        }
    }
    for m in &run.metrics {
        for (sae, s) in run.saes.iter().zip(&m.scores) {
            let kind = match &s.score {
                SaeScore::Value { .. } => "value",
                SaeScore::Undefined { .. } => "undefined",
                SaeScore::Error { .. } => "error",
            };
            row(
                sae,
                &m.id,
                kind,
                s.score.value(),
                s.ci,
                s.n_resamples_defined,
            );
        }
    }
    out
}

/// What [`format_estimate`] appends to an interval that excludes its point
/// estimate, and the sentence explaining it.
pub const OUTSIDE_MARK: &str = "†";
pub const OUTSIDE_NOTE: &str = "† the point estimate lies outside its interval: the metric \
     depends on how many distinct documents it sees, and a bootstrap sample repeats some \
     (about 37% of the draws are repeats), so resampled values shift; read the interval's \
     width, not its position.";

/// `v [lo, hi]` to 4 decimals (`n/a` without a value), marked with
/// [`OUTSIDE_MARK`] when `v` is outside `[lo, hi]`.
pub fn format_estimate(v: Option<f64>, ci: Option<[f64; 2]>) -> String {
    match (v, ci) {
        (None, _) => "n/a".to_string(),
        (Some(v), None) => format!("{v:.4}"),
        (Some(v), Some([a, b])) => {
            let mark = if (a..=b).contains(&v) {
                ""
            } else {
                OUTSIDE_MARK
            };
            format!("{v:.4} [{a:.4}, {b:.4}]{mark}")
        }
    }
}

fn fmt_rho(r: &Option<RhoEstimate>) -> String {
    match r {
        None => "n/a".into(),
        Some(r) => match (r.rho, r.ci) {
            (Some(v), Some([a, b])) => format!("{v:.2} [{a:.2}, {b:.2}] (n={})", r.n),
            (Some(v), None) => format!("{v:.2} (n={})", r.n),
            (None, _) => format!("undefined (n={})", r.n),
        },
    }
}

/// Escapes `|` and line breaks so plugin-provided text stays in its cell.
fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace(['\n', '\r'], " ")
}

/// `real.md`: the SAE leaderboard and the per-metric table.
pub fn markdown(run: &RealRun) -> String {
    let c = &run.cache;
    let pct = (run.settings.confidence * 100.0).round();
    let mut out = format!(
        "# Real data: {} layer {} ({})\n\n{} held-out tokens in {} documents (of {} held out, {} for training); \
         intervals: {pct}% percentile bootstrap over documents, {} resamples.\n\n",
        cell(&c.model_name),
        c.layer,
        cell(&c.corpus),
        c.eval_tokens,
        c.eval_documents.len(),
        c.held_out_documents,
        c.train_documents,
        run.settings.bootstrap_resamples
    );
    out.push_str(
        "## SAE leaderboard\n\n| SAE | d_sae | L0 | EV | MSE | live |\n|---|---|---|---|---|---|\n",
    );
    for s in &run.saes {
        let q = &s.quality;
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} |\n",
            cell(&s.id),
            s.d_sae,
            format_estimate(q.l0.value, q.l0.ci),
            format_estimate(q.explained_variance.value, q.explained_variance.ci),
            format_estimate(q.mse.value, q.mse.ci),
            q.n_live
        ));
    }
    out.push_str("\n## Metrics (oriented: higher = more polysemantic)\n\n| metric |");
    for s in &run.saes {
        out.push_str(&format!(" {} |", cell(&s.id)));
    }
    out.push_str(" ρ vs toy | ρ vs toy P_gt |\n|---|");
    for _ in &run.saes {
        out.push_str("---|");
    }
    out.push_str("---|---|\n");
    for m in &run.metrics {
        out.push_str(&format!("| {} |", cell(&m.id)));
        if let Some(why) = &m.not_applicable {
            for _ in &run.saes {
                out.push_str(" n/a |");
            }
            out.push_str(&format!(" n/a ({}) | n/a |\n", cell(why)));
            continue;
        }
        for s in &m.scores {
            let text = match &s.score {
                SaeScore::Value { value } => format_estimate(Some(*value), s.ci),
                SaeScore::Undefined { .. } => "undefined".into(),
                SaeScore::Error { .. } => "error".into(),
            };
            out.push_str(&format!(" {text} |"));
        }
        out.push_str(&format!(
            " {} | {} |\n",
            fmt_rho(&m.rank_vs_toy),
            fmt_rho(&m.rank_vs_toy_p_gt)
        ));
    }
    if !run.toy.is_empty() {
        out.push_str("\n## Toy counterparts (same configurations)\n\n| SAE | L0 | EV | P_gt | MCC |\n|---|---|---|---|---|\n");
        let f = |v: Option<f64>| v.map_or("n/a".to_string(), |v| format!("{v:.4}"));
        for t in &run.toy {
            out.push_str(&format!(
                "| {} | {} | {} | {} | {} |\n",
                cell(&t.id),
                f(t.l0),
                f(t.explained_variance),
                f(t.p_gt),
                f(t.mcc)
            ));
        }
    }
    if out.contains(OUTSIDE_MARK) {
        out.push('\n');
        out.push_str(OUTSIDE_NOTE);
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod estimate_format_tests {
    use super::*;

    #[test]
    fn an_interval_that_excludes_its_point_estimate_is_marked() {
        assert_eq!(format_estimate(None, None), "n/a");
        assert_eq!(format_estimate(Some(1.0), None), "1.0000");
        assert_eq!(
            format_estimate(Some(1.0), Some([0.5, 1.0])),
            "1.0000 [0.5000, 1.0000]"
        );
        assert_eq!(
            format_estimate(Some(204.4), Some([173.0, 202.0])),
            "204.4000 [173.0000, 202.0000]†"
        );
    }
}

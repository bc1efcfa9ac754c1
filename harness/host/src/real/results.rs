//! `real.json`: everything one `rdpbench real` run measured.

use super::bootstrap::Estimate;
use super::evaluate::{MetricScore, Quality};
use super::settings::RealSettings;
use crate::plugin::PluginError;
use crate::results::PluginRecord;
use crate::train::Sparsity;
use crate::validity::{RhoEstimate, SaeScore};
use anyhow::{Context, Result};
use rdpbench_sdk::{Input, Orientation};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// File name of the results beside `check.json`.
pub const REAL_FILE: &str = "real.json";
/// Version of the [`RealRun`] layout.
pub const REAL_SCHEMA_VERSION: u32 = 1;

/// What was evaluated: the cache and its split.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CacheSummary {
    /// The cache folder as given.
    pub dir: PathBuf,
    pub model_file: String,
    /// e.g. `SmolLM2-135M-Instruct`.
    pub model_name: String,
    pub model_sha256: String,
    pub d_model: usize,
    pub corpus: String,
    pub layer: usize,
    /// SAELens hook name, `blocks.{layer}.hook_resid_post`.
    pub hook_name: String,
    pub seq_len: usize,
    pub n_shards: usize,
    pub n_tokens: usize,
    /// Concept labels of the metrics (Brown: coarse POS tags).
    pub token_label_names: Vec<String>,
    pub train_documents: usize,
    pub held_out_documents: usize,
    /// Held-out tokens and documents evaluated (the bootstrap's units).
    pub eval_tokens: usize,
    pub eval_documents: Vec<u32>,
    /// The factor every row was multiplied by (`E‖x‖ ≈ √d` after it).
    pub activation_scale: f64,
}

/// One real SAE's held-out rate and distortion.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RealSaeRow {
    pub id: String,
    pub architecture: String,
    pub sparsity: Sparsity,
    pub d_sae: usize,
    pub seed: u64,
    /// SAELens folder, relative to the results folder.
    pub folder: PathBuf,
    pub quality: Quality,
}

/// The toy counterpart of one configuration (same id).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToyRow {
    pub id: String,
    pub l0: Option<f64>,
    pub explained_variance: Option<f64>,
    pub p_gt: Option<f64>,
    pub mcc: Option<f64>,
}

/// One metric on the real SAEs and how it ranks them against toy data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RealMetric {
    pub id: String,
    pub version: String,
    pub oracle: bool,
    pub orientation: Orientation,
    pub inputs: Vec<Input>,
    /// Why the metric was not evaluated (oracles: no ground truth on real data).
    pub not_applicable: Option<String>,
    /// One per real SAE, in row order (empty when not applicable).
    pub scores: Vec<MetricScore>,
    pub n_defined: usize,
    pub n_undefined: usize,
    pub n_errors: usize,
    /// Its scores on the toy counterparts, in the same order (empty without them).
    pub toy_scores: Vec<SaeScore>,
    /// Spearman ρ (over configurations) of its real scores vs its toy scores.
    pub rank_vs_toy: Option<RhoEstimate>,
    /// Spearman ρ of its real scores vs the toy counterparts' `P_gt`.
    pub rank_vs_toy_p_gt: Option<RhoEstimate>,
}

/// `real.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RealRun {
    pub schema_version: u32,
    pub tool: String,
    pub tool_version: String,
    pub settings: RealSettings,
    pub cache: CacheSummary,
    pub plugins: Vec<PluginRecord>,
    pub plugin_errors: Vec<PluginError>,
    pub saes: Vec<RealSaeRow>,
    /// Toy counterparts in `saes` order (empty with `toy_steps = 0`).
    pub toy: Vec<ToyRow>,
    pub metrics: Vec<RealMetric>,
}

impl RealRun {
    /// Reads a stored `real.json`, naming the file on failure.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        serde_json::from_str(&text)
            .with_context(|| format!("{} is not a real.json", path.display()))
    }

    pub fn metric(&self, id: &str) -> Option<&RealMetric> {
        self.metrics.iter().find(|m| m.id == id)
    }
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
        let (k, v) = crate::validity::export::sparsity_parts(s);
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

/// Writes `real.json`, `real.csv` and `real.md` into `out_dir`.
pub fn write_results(run: &RealRun, out_dir: &Path) -> Result<Vec<PathBuf>> {
    std::fs::create_dir_all(out_dir)
        .with_context(|| format!("cannot create {}", out_dir.display()))?;
    let files = [
        (REAL_FILE, serde_json::to_string_pretty(run)? + "\n"),
        ("real.csv", csv(run)),
        ("real.md", markdown(run)),
    ];
    let mut written = Vec::new();
    for (name, text) in files {
        let path = out_dir.join(name);
        std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
        written.push(path);
    }
    Ok(written)
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

//! The report's "Real data" section, from a `real.json` (`rdpbench real`):
//! the real SAE leaderboard (L0, EV, MSE with document-bootstrap
//! intervals), every metric's scores on those SAEs, and how each metric
//! ranks the configurations compared with the same configurations on the
//! toy model. Every plugin-provided string lands in a table cell, which the
//! template escapes.

use super::data::{ExtraSection, SectionContent, Table};
use crate::bench::format_ns;
use crate::real::{OUTSIDE_MARK, OUTSIDE_NOTE, format_estimate};
use rdpbench_schema::results::bench::BenchRun;
use rdpbench_schema::results::real::{Estimate, RealRun};
use rdpbench_schema::results::validity::{RhoEstimate, SaeScore};

fn estimate(e: &Estimate) -> String {
    format_estimate(e.value, e.ci)
}

fn rho(r: Option<&RhoEstimate>) -> String {
    match r {
        None => "–".into(),
        Some(r) => match (r.rho, r.ci) {
            (Some(v), Some([lo, hi])) => format!("{v:.2} [{lo:.2}, {hi:.2}] (n {})", r.n),
            (Some(v), None) => format!("{v:.2} (n {})", r.n),
            (None, _) => format!("undefined (n {})", r.n),
        },
    }
}

/// The "Real data" section; without `real.json`, the note naming the command.
/// `bench` (`real-bench/bench.json`, from `rdpbench bench --cache`) adds the
/// metrics' runtime on the real SAEs and held-out rows.
pub fn section(real: Option<&RealRun>, bench: Option<&BenchRun>) -> ExtraSection {
    ExtraSection {
        id: "real-data",
        title: "Real data: SAEs on language-model activations",
        content: real.map(|run| {
            let mut c = content(run);
            if let Some(bench) = bench {
                c.tables.push(runtime_table(bench));
            }
            c
        }),
        needs: "real.json beside check.json (`rdpbench real --cache DIR`)",
    }
}

/// Median time per call of every benchmarked metric at every (SAE, N), with
/// criterion's interval.
fn runtime_table(bench: &BenchRun) -> Table {
    let source = bench.activation_cache.as_ref().map_or_else(
        || "toy rows".to_string(),
        |d| format!("held-out rows of {}", d.display()),
    );
    let sizes: Vec<String> = bench
        .metrics
        .iter()
        .max_by_key(|m| m.sizes.len())
        .map(|m| {
            m.sizes
                .iter()
                .map(|s| {
                    s.bench_id
                        .split_once('/')
                        .map_or(&*s.bench_id, |p| p.1)
                        .to_string()
                })
                .collect()
        })
        .unwrap_or_default();
    let mut columns = vec!["metric".to_string()];
    columns.extend(sizes.iter().cloned());
    Table {
        caption: format!("Metric runtime on the real SAEs ({source}; median per call [interval])"),
        columns,
        rows: bench
            .metrics
            .iter()
            .map(|m| {
                let mut row = vec![m.metric.clone()];
                row.extend(sizes.iter().map(|label| {
                    let s = m
                        .sizes
                        .iter()
                        .find(|s| s.bench_id.ends_with(&format!("/{label}")));
                    match s {
                        Some(s) => match (s.median_ns, s.median_ci_low_ns, s.median_ci_high_ns) {
                            (Some(t), Some(lo), Some(hi)) => {
                                format!("{} [{}, {}]", format_ns(t), format_ns(lo), format_ns(hi))
                            }
                            (Some(t), _, _) => format_ns(t),
                            (None, _, _) => s.outcome.clone(),
                        },
                        None => "–".to_string(),
                    }
                }));
                row
            })
            .collect(),
    }
}

fn content(run: &RealRun) -> SectionContent {
    let c = &run.cache;
    let s = &run.settings;
    let intro = format!(
        "{} SAEs trained on {} (layer {}, hook {}, corpus {}; {} cached tokens, {} training \
         documents), evaluated on {} held-out tokens from {} documents (document i held out \
         iff i mod {} = {}). Inputs scaled by {:.4} so that E‖x‖ ≈ √d. Intervals: {:.0}% \
         percentile bootstrap over held-out documents ({} resamples). Metric scores are \
         oriented (higher = more polysemantic), with the tokens' labels ({}) as concepts; \
         oracle metrics need true directions and are n/a. ρ vs toy: Spearman's rank \
         correlation over configurations between a metric's real scores and its scores on \
         the same configurations trained on the toy model ({} steps), and vs those toy SAEs' \
         P_gt.",
        run.saes.len(),
        c.model_name,
        c.layer,
        c.hook_name,
        c.corpus,
        c.n_tokens,
        c.train_documents,
        c.eval_tokens,
        c.eval_documents.len(),
        s.held_out_every,
        s.held_out_every - 1,
        c.activation_scale,
        100.0 * s.confidence,
        s.bootstrap_resamples,
        c.token_label_names.join(", "),
        s.toy_steps,
    );
    let leaderboard = Table {
        caption: "Real SAE leaderboard (held-out documents)".into(),
        columns: ["SAE", "d_sae", "L0", "EV", "MSE", "live latents"]
            .map(String::from)
            .to_vec(),
        rows: run
            .saes
            .iter()
            .map(|r| {
                vec![
                    r.id.clone(),
                    r.d_sae.to_string(),
                    estimate(&r.quality.l0),
                    estimate(&r.quality.explained_variance),
                    estimate(&r.quality.mse),
                    r.quality.n_live.to_string(),
                ]
            })
            .collect(),
    };
    let mut columns = vec!["metric".to_string()];
    columns.extend(run.saes.iter().map(|r| r.id.clone()));
    let scores = Table {
        caption: "Metrics on the real SAEs [95% interval]".into(),
        columns,
        rows: run
            .metrics
            .iter()
            .map(|m| {
                let mut row = vec![m.id.clone()];
                if m.not_applicable.is_some() {
                    row.extend(run.saes.iter().map(|_| "n/a (oracle)".to_string()));
                } else {
                    row.extend(m.scores.iter().map(|s| match &s.score {
                        SaeScore::Value { value } => format_estimate(Some(*value), s.ci),
                        SaeScore::Undefined { .. } => "undefined".into(),
                        SaeScore::Error { .. } => "error".into(),
                    }));
                }
                row
            })
            .collect(),
    };
    let ranking = Table {
        caption: "Do metrics rank the configurations as on toy data?".into(),
        columns: [
            "metric",
            "ρ real vs toy score",
            "ρ real vs toy P_gt",
            "defined / undefined / errors",
        ]
        .map(String::from)
        .to_vec(),
        rows: run
            .metrics
            .iter()
            .map(|m| {
                if let Some(why) = &m.not_applicable {
                    vec![m.id.clone(), "n/a".into(), "n/a".into(), why.clone()]
                } else {
                    vec![
                        m.id.clone(),
                        rho(m.rank_vs_toy.as_ref()),
                        rho(m.rank_vs_toy_p_gt.as_ref()),
                        format!("{} / {} / {}", m.n_defined, m.n_undefined, m.n_errors),
                    ]
                }
            })
            .collect(),
    };
    let mut tables = vec![leaderboard, scores, ranking];
    if !run.toy.is_empty() {
        let f = |v: Option<f64>| v.map_or("–".to_string(), |v| format!("{v:.4}"));
        tables.push(Table {
            caption: "Toy counterparts (same configurations)".into(),
            columns: ["SAE", "L0", "EV", "P_gt", "MCC"]
                .map(String::from)
                .to_vec(),
            rows: run
                .toy
                .iter()
                .map(|t| {
                    vec![
                        t.id.clone(),
                        f(t.l0),
                        f(t.explained_variance),
                        f(t.p_gt),
                        f(t.mcc),
                    ]
                })
                .collect(),
        });
    }
    let mut intro = intro;
    if tables
        .iter()
        .any(|t| t.rows.iter().flatten().any(|c| c.ends_with(OUTSIDE_MARK)))
    {
        intro.push(' ');
        intro.push_str(OUTSIDE_NOTE);
    }
    SectionContent {
        intro,
        tables,
        charts: Vec::new(),
        heatmaps: Vec::new(),
    }
}

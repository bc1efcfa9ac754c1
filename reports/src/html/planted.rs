//! The report's "Planted features" section, from a `planted.json`: the
//! validity-transfer table and chart (toy ρ beside planted ρ per metric,
//! with their intervals), the R2 curve, and the ladder verdicts that
//! changed once planted on the background.

use super::chart::{self, ChartSpec, Point, Series};
use super::data::{ExtraSection, SectionContent, Table};
use crate::planted::{trend_text, verdict_text};
use rdpbench_core::conditions::verdict::num;
use rdpbench_schema::results::planted::PlantedRun;
use rdpbench_schema::results::validity::RhoEstimate;

fn fmt(x: Option<f64>) -> String {
    x.map_or_else(|| "–".to_string(), num)
}

/// [`super::validity::rho_cell`], `undefined` when there is no estimate.
fn rho_cell(r: Option<&RhoEstimate>) -> String {
    r.map_or_else(|| "undefined".into(), super::validity::rho_cell)
}

/// The section; without planted results, the note naming the command.
pub fn section(run: Option<&PlantedRun>) -> ExtraSection {
    ExtraSection {
        id: "planted",
        title: "Planted features: does toy validity transfer?",
        content: run.map(content),
        needs: "planted.json beside check.json (`rdpbench planted`)",
    }
}

/// A ρ and its interval ends as points at `x`, tipped with the metric.
fn rho_points(x: f64, id: &str, which: &str, r: Option<&RhoEstimate>) -> (Vec<Point>, Vec<Point>) {
    let Some(r) = r else {
        return (Vec::new(), Vec::new());
    };
    let tip = format!("{id}: {which} ρ {}", rho_cell(Some(r)));
    let value = r.rho.map(|y| Point {
        x,
        y,
        tip: tip.clone(),
    });
    let ends =
        r.ci.map(|[lo, hi]| {
            [lo, hi]
                .map(|y| Point {
                    x,
                    y,
                    tip: tip.clone(),
                })
                .to_vec()
        })
        .unwrap_or_default();
    (value.into_iter().collect(), ends)
}

fn content(run: &PlantedRun) -> SectionContent {
    let s = &run.settings;
    let b = &run.background;
    let intro = format!(
        "Known features planted into {} ({} rows, d = {}): the toy's concepts in a `{}` \
         subspace at {} × the background's mean norm. P_gt counts only latents whose decoder \
         row lies mostly on planted directions (residual ≤ {:.3}); the rest explain the \
         background and are set aside. R2 at {} {} = {}: slope {} [{}], {}. Toy ρ from {}.",
        b.source,
        b.n_train_rows,
        b.stats.d,
        s.subspace,
        s.magnitude,
        s.background_residual,
        run.r2.architecture,
        run.r2.sparsity.knob,
        run.r2.sparsity.value,
        fmt(run.r2.slope.value),
        run.r2
            .slope
            .ci
            .map_or("–".into(), |[a, b]| format!("{}, {}", num(a), num(b))),
        trend_text(run.r2.trend),
        run.toy_validity_source,
    );
    let transfer = Table {
        caption: "Validity transfer: Spearman ρ with P_gt, toy vs planted".into(),
        columns: ["metric", "toy ρ [CI]", "planted ρ [CI]", "verdict"]
            .map(String::from)
            .to_vec(),
        rows: run
            .transfer
            .iter()
            .map(|m| {
                vec![
                    if m.oracle {
                        format!("{} (oracle)", m.id)
                    } else {
                        m.id.clone()
                    },
                    rho_cell(m.toy.as_ref()),
                    rho_cell(Some(&m.planted)),
                    verdict_text(m.verdict).to_string(),
                ]
            })
            .collect(),
    };
    let ladders = Table {
        caption: format!(
            "Ladders on the background (C1, C2, C8): verdicts that differ once planted \
             (background code: {} with {} latents, EV {})",
            run.ladders.background_sae.architecture,
            run.ladders.background_sae.d_sae,
            fmt(run.ladders.background_sae.explained_variance)
        ),
        columns: ["metric", "condition", "family", "toy", "planted", "reason"]
            .map(String::from)
            .to_vec(),
        rows: run
            .ladders
            .metrics
            .iter()
            .flat_map(|m| {
                m.verdicts.iter().filter(|v| !v.same()).map(|v| {
                    vec![
                        m.id.clone(),
                        v.condition.to_string(),
                        v.family.map_or("–".into(), |f| f.to_string()),
                        v.toy.as_str().to_string(),
                        v.planted.as_str().to_string(),
                        v.planted_reason.clone(),
                    ]
                })
            })
            .collect(),
    };
    // Toy left of each metric's tick, planted right of it.
    let (mut toy, mut toy_ci, mut planted, mut planted_ci) = (vec![], vec![], vec![], vec![]);
    for (i, m) in run.transfer.iter().enumerate() {
        let (v, e) = rho_points(i as f64 - 0.15, &m.id, "toy", m.toy.as_ref());
        toy.extend(v);
        toy_ci.extend(e);
        let (v, e) = rho_points(i as f64 + 0.15, &m.id, "planted", Some(&m.planted));
        planted.extend(v);
        planted_ci.extend(e);
    }
    let series = |name: &str, class: &str, points| Series {
        name: name.into(),
        class: class.into(),
        line: false,
        points,
    };
    let rho_chart = chart::layout(&ChartSpec {
        id: "planted-transfer".into(),
        title: format!(
            "ρ with P_gt per metric (0 = {}, …): toy left, planted right",
            run.transfer.first().map_or("–", |m| m.id.as_str())
        ),
        x_label: "metric (table order)".into(),
        y_label: "Spearman ρ".into(),
        x_integer: true,
        y_from_zero: false,
        series: vec![
            series("toy ρ", "s0", toy),
            series("toy 95% interval ends", "s2", toy_ci),
            series("planted ρ", "s1", planted),
            series("planted 95% interval ends", "s3", planted_ci),
        ],
    });
    let r2_points = run
        .r2
        .rows
        .iter()
        .filter_map(|r| {
            Some(Point {
                x: r.q_factor,
                y: r.planted.p_gt?,
                tip: format!(
                    "{}: P_gt {}, MCC {}, {} planted / {} background latents",
                    r.sae_id,
                    fmt(r.planted.p_gt),
                    fmt(r.mcc),
                    r.planted.n_planted,
                    r.planted.n_background
                ),
            })
        })
        .collect();
    let r2_means = s
        .r2_q_factors
        .iter()
        .zip(&run.r2.mean_by_q)
        .filter_map(|(&q, m)| {
            Some(Point {
                x: q,
                y: (*m)?,
                tip: format!("q/p {q}: mean P_gt {}", fmt(*m)),
            })
        })
        .collect();
    let r2_chart = chart::layout(&ChartSpec {
        id: "planted-r2".into(),
        title: format!(
            "R2 on the background: P_gt of {} at {} = {} against co-occurrence",
            run.r2.architecture, run.r2.sparsity.knob, run.r2.sparsity.value
        ),
        x_label: "co-occurrence q / p".into(),
        y_label: "P_gt (planted concepts)".into(),
        x_integer: false,
        y_from_zero: true,
        series: vec![
            Series {
                name: "mean over seeds".into(),
                class: "s0".into(),
                line: true,
                points: r2_means,
            },
            series("one SAE", "s1", r2_points),
        ],
    });
    SectionContent {
        intro,
        tables: vec![transfer, ladders],
        charts: vec![rho_chart, r2_chart],
        heatmaps: Vec::new(),
    }
}

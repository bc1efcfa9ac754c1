//! The report's validity parts, from a `validity.json`: the leaderboard's
//! validity ρ column and the "metric vs P_gt" section (a table of ρ and
//! discriminability, and one scatter chart per metric).

use super::chart::{self, ChartSpec, Point, Series};
use super::data::{ExtraSection, Leaderboard, SectionContent, Table};
use rdpbench_core::conditions::verdict::num;
use rdpbench_schema::results::validity::ValidityRun;

fn fmt(x: Option<f64>) -> String {
    x.map_or_else(|| "–".to_string(), num)
}

/// `0.812 [0.70, 0.90]`, or `undefined`.
pub(super) fn rho_cell(rho: &rdpbench_schema::results::validity::RhoEstimate) -> String {
    match (rho.rho, rho.ci) {
        (Some(r), Some([lo, hi])) => format!("{r:.3} [{lo:.2}, {hi:.2}]"),
        (Some(r), None) => format!("{r:.3}"),
        (None, _) => "undefined".into(),
    }
}

/// Fills the leaderboard's validity ρ column from `validity` (metrics it
/// did not score keep `None`, shown as `–`).
pub fn fill_leaderboard(board: &mut Leaderboard, validity: &ValidityRun) {
    for row in &mut board.rows {
        if let Some(m) = validity.metric(&row.metric) {
            row.validity_rho = Some(rho_cell(&m.rho));
            row.validity = Some(super::data::ValidityVerdict::of(m.rho.rho, m.rho.ci));
        }
    }
    board.show_validity = board.rows.iter().any(|r| r.validity_rho.is_some());
}

/// Series class per architecture, in `[validity].architectures` order.
fn arch_class(validity: &ValidityRun, arch: &str) -> String {
    let i = validity
        .settings
        .architectures
        .iter()
        .position(|a| a == arch)
        .unwrap_or(0);
    format!("s{}", i % 6)
}

/// The "metric vs P_gt" section; without validity results, the note naming
/// the command that produces them.
pub fn section(validity: Option<&ValidityRun>) -> ExtraSection {
    ExtraSection {
        id: "metric-vs-pgt",
        title: "Metric vs P_gt on trained SAEs (validity ρ)",
        content: validity.map(content),
        needs: "validity.json beside check.json (`rdpbench validity`)",
    }
}

fn content(validity: &ValidityRun) -> SectionContent {
    let s = &validity.settings;
    let range = validity.p_gt_range().map_or_else(
        || "undefined".into(),
        |[lo, hi]| format!("{} – {}", num(lo), num(hi)),
    );
    let intro = format!(
        "{} SAEs trained on the toy model ({} architectures × their sparsity levels × \
         co-occurrence levels q/p {:?} × seeds {:?}; d_sae {}, {} steps), P_gt range {range}. \
         ρ is Spearman's rank correlation between the metric (oriented: higher = more \
         polysemantic) and P_gt over SAEs where both are defined, with a {:.0}% bootstrap \
         interval over SAEs; F is the ratio of the between-configuration to the \
         within-configuration (reseed) mean square: F ≈ 1 means configurations are no more \
         apart than reseeds.",
        validity.population.len(),
        s.architectures.len(),
        s.q_factors,
        s.seeds,
        s.d_sae,
        s.steps,
        100.0 * s.confidence,
    );
    let table = Table {
        caption: "Validity on trained SAEs".into(),
        columns: [
            "metric",
            "ρ with P_gt [CI]",
            "discriminability F",
            "defined",
            "undefined",
            "errors",
        ]
        .map(String::from)
        .to_vec(),
        rows: validity
            .metrics
            .iter()
            .map(|m| {
                vec![
                    if m.oracle {
                        format!("{} (oracle)", m.id)
                    } else {
                        m.id.clone()
                    },
                    rho_cell(&m.rho),
                    fmt(m.discriminability.f_ratio),
                    m.n_defined.to_string(),
                    m.n_undefined.to_string(),
                    m.n_errors.to_string(),
                ]
            })
            .collect(),
    };
    let charts = validity
        .metrics
        .iter()
        .map(|m| {
            let series = s
                .architectures
                .iter()
                .map(|arch| Series {
                    name: arch.clone(),
                    class: arch_class(validity, arch),
                    line: false,
                    points: m
                        .scores
                        .iter()
                        .zip(&validity.population)
                        .filter(|(_, r)| &r.architecture == arch)
                        .filter_map(|(sc, r)| {
                            let (knob, level) = (r.sparsity.knob.as_str(), r.sparsity.value);
                            Some(Point {
                                x: r.p_gt?,
                                y: sc.value()?,
                                tip: format!(
                                    "{}: {knob} {level}, q/p {}, seed {}; P_gt {}, score {}",
                                    r.sae_id,
                                    r.q_factor,
                                    r.seed,
                                    fmt(r.p_gt),
                                    fmt(sc.value())
                                ),
                            })
                        })
                        .collect(),
                })
                .collect();
            chart::layout(&ChartSpec {
                id: format!("validity-{}", m.id),
                title: format!(
                    "{}{} vs P_gt (ρ {})",
                    m.id,
                    if m.oracle { " (oracle)" } else { "" },
                    rho_cell(&m.rho)
                ),
                x_label: "P_gt".into(),
                y_label: "score (higher = more polysemantic)".into(),
                x_integer: false,
                y_from_zero: false,
                series,
            })
        })
        .collect();
    SectionContent {
        intro,
        tables: vec![table],
        charts,
        heatmaps: Vec::new(),
    }
}

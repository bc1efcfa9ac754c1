//! The runtime-scaling section and the leaderboard's runtime columns, from
//! `bench.json` (`rdpbench bench`).

use super::chart::{self, ChartSpec, Point, Series};
use super::data::{ExtraSection, Leaderboard, SectionContent, Table};
use crate::bench::format_ns;
use rdpbench_schema::results::bench::{BenchRun, MetricBench};

/// What produces the section's input.
pub const NEEDS: &str =
    "bench.json in the results folder: run `rdpbench bench` (or `rdpbench run`)";

fn exponent(v: Option<f64>) -> String {
    v.map_or_else(|| "–".into(), |v| format!("{v:.2}"))
}

/// `N^1.02 · d_sae^0.98`, or `–` when nothing was fitted.
pub fn scaling_text(m: &MetricBench) -> String {
    let mut parts = Vec::new();
    if let Some(a) = m.fit.n_exponent {
        parts.push(format!("N^{a:.2}"));
    }
    if let Some(b) = m.fit.d_sae_exponent {
        parts.push(format!("d_sae^{b:.2}"));
    }
    if parts.is_empty() {
        "–".into()
    } else {
        parts.join(" · ")
    }
}

/// Fills the leaderboard's runtime (median at the largest size) and scaling
/// columns for every metric that was benchmarked.
pub fn fill_leaderboard(board: &mut Leaderboard, bench: &BenchRun) {
    for row in &mut board.rows {
        let Some(m) = bench.metrics.iter().find(|m| m.metric == row.metric) else {
            continue;
        };
        row.runtime = Some(m.largest().map_or_else(
            || "error".into(),
            |s| {
                format!(
                    "{} (N = {}, d_sae = {})",
                    format_ns(s.median_ns.unwrap_or(f64::NAN)),
                    s.n_tokens,
                    s.d_sae
                )
            },
        ));
        row.scaling = Some(scaling_text(m));
    }
    board.show_runtime = board.rows.iter().any(|r| r.runtime.is_some());
}

fn count_label(v: f64) -> String {
    let short = |x: f64, unit: &str| {
        let s = format!("{x:.2}");
        format!("{}{unit}", s.trim_end_matches('0').trim_end_matches('.'))
    };
    if v >= 1e6 {
        short(v / 1e6, "M")
    } else if v >= 1e3 {
        short(v / 1e3, "k")
    } else {
        format!("{v:.0}")
    }
}

/// Median time against one axis (N or d_sae) with the other axis held at its
/// largest value; one series per metric.
fn chart_along(bench: &BenchRun, along_n: bool) -> chart::Chart {
    let fixed = bench
        .metrics
        .iter()
        .flat_map(|m| &m.sizes)
        .map(|s| if along_n { s.d_sae } else { s.n_tokens })
        .max()
        .unwrap_or(0);
    let series = bench
        .metrics
        .iter()
        .enumerate()
        .map(|(i, m)| Series {
            name: m.metric.clone(),
            class: format!("s{}", i % 6),
            line: true,
            points: m
                .sizes
                .iter()
                .filter(|s| (if along_n { s.d_sae } else { s.n_tokens }) == fixed)
                .filter_map(|s| {
                    let t = s.median_ns?;
                    let x = if along_n { s.n_tokens } else { s.d_sae } as f64;
                    Some(Point {
                        x,
                        y: t,
                        tip: format!(
                            "{}: N = {}, d_sae = {}: median {} (CI {} – {})",
                            m.metric,
                            s.n_tokens,
                            s.d_sae,
                            format_ns(t),
                            format_ns(s.median_ci_low_ns.unwrap_or(f64::NAN)),
                            format_ns(s.median_ci_high_ns.unwrap_or(f64::NAN))
                        ),
                    })
                })
                .collect(),
        })
        .collect();
    let (id, title, x_label) = if along_n {
        (
            "runtime-vs-n",
            format!("Median time per call vs N tokens (d_sae = {fixed}), log-log"),
            "N tokens",
        )
    } else {
        (
            "runtime-vs-dsae",
            format!("Median time per call vs d_sae (N = {fixed}), log-log"),
            "d_sae",
        )
    };
    chart::layout_log_log(
        &ChartSpec {
            id: id.into(),
            title,
            x_label: x_label.into(),
            y_label: "median time per call".into(),
            x_integer: false,
            y_from_zero: false,
            series,
        },
        count_label,
        format_ns,
    )
}

/// The runtime-scaling section (absent input: `content: None`).
pub fn section(bench: Option<&BenchRun>) -> ExtraSection {
    let mut s = ExtraSection {
        id: "runtime-scaling",
        title: "Runtime scaling",
        content: None,
        needs: NEEDS,
    };
    let Some(bench) = bench else {
        return s;
    };
    let mut sizes: Vec<(usize, usize)> = bench
        .metrics
        .iter()
        .flat_map(|m| m.sizes.iter().map(|s| (s.n_tokens, s.d_sae)))
        .collect();
    sizes.sort_unstable();
    sizes.dedup();
    let mut columns = vec!["metric".to_string()];
    columns.extend(sizes.iter().map(|(n, d)| format!("N = {n}, d_sae = {d}")));
    columns.extend(["N exponent", "d_sae exponent", "R²"].map(String::from));
    let rows = bench
        .metrics
        .iter()
        .map(|m| {
            let mut row = vec![if m.oracle {
                format!("{} (oracle)", m.metric)
            } else {
                m.metric.clone()
            }];
            for &(n, d) in &sizes {
                let cell = m
                    .sizes
                    .iter()
                    .find(|s| s.n_tokens == n && s.d_sae == d)
                    .map_or("–".to_string(), |s| match s.median_ns {
                        Some(t) => format_ns(t),
                        None => s.outcome.clone(),
                    });
                row.push(cell);
            }
            row.push(exponent(m.fit.n_exponent));
            row.push(exponent(m.fit.d_sae_exponent));
            row.push(exponent(m.fit.r_squared));
            row
        })
        .collect();
    let st = &bench.settings;
    s.content = Some(SectionContent {
        intro: format!(
            "Median time per metric call measured by criterion ({} samples, {} s measurement, {} s warm-up per size) on {} SAE(s); exponents from a least-squares fit of ln t = c + α ln N + β ln d_sae over all sizes. One machine, one run: compare ratios, not absolute times. {} {}.",
            st.sample_size,
            st.measurement_secs,
            st.warm_up_secs,
            bench.saes.len(),
            bench.tool,
            bench.tool_version
        ),
        tables: vec![Table {
            caption:
                "Median time per call at each size (N tokens, d_sae) and fitted scaling exponents"
                    .into(),
            columns,
            rows,
        }],
        charts: vec![chart_along(bench, true), chart_along(bench, false)],
        heatmaps: Vec::new(),
    });
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_labelled_compactly() {
        assert_eq!(count_label(1000.0), "1k");
        assert_eq!(count_label(4000.0), "4k");
        assert_eq!(count_label(2500.0), "2.5k");
        assert_eq!(count_label(64.0), "64");
    }
}

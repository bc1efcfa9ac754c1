//! `bench.json`, `bench.csv`, `bench.md` (and the same under `real-bench/`):
//! a [`BenchRun`] in each format.

use crate::{Exporter, FnExporter, Json};
use rdpbench_schema::results::bench::BenchRun;
use rdpbench_store::ResultFile;

/// The exporters of a bench stage's result files: `bench` on toy SAEs, or
/// `real_bench` on the real SAEs' held-out rows (`real = true`).
pub fn exporters(real: bool) -> Vec<Box<dyn Exporter<BenchRun>>> {
    let (json, csv_file, md) = if real {
        (
            ResultFile::RealBenchJson,
            ResultFile::RealBenchCsv,
            ResultFile::RealBenchMarkdown,
        )
    } else {
        (
            ResultFile::BenchJson,
            ResultFile::BenchCsv,
            ResultFile::BenchMarkdown,
        )
    };
    vec![
        Box::new(Json(json)),
        Box::new(FnExporter::new("csv", csv_file, csv)),
        Box::new(FnExporter::new("markdown", md, markdown)),
    ]
}

/// One row per metric × size.
pub fn csv(run: &BenchRun) -> String {
    let mut out = String::from(
        "metric,oracle,d_sae,n_tokens,outcome,median_ns,median_ci_low_ns,median_ci_high_ns,mean_ns\n",
    );
    let o = |v: Option<f64>| v.map_or(String::new(), |v| format!("{v}"));
    for m in &run.metrics {
        for s in &m.sizes {
            out.push_str(&format!(
                "{},{},{},{},{},{},{},{},{}\n",
                csv_field(&m.metric),
                m.oracle,
                s.d_sae,
                s.n_tokens,
                s.outcome,
                o(s.median_ns),
                o(s.median_ci_low_ns),
                o(s.median_ci_high_ns),
                o(s.mean_ns)
            ));
        }
    }
    out
}

/// A Markdown table: median at the largest size and the exponents.
pub fn markdown(run: &BenchRun) -> String {
    let mut out = String::from(
        "| metric | median at largest size | N exponent | d_sae exponent | R² |\n|---|---:|---:|---:|---:|\n",
    );
    let e = |v: Option<f64>| v.map_or("–".to_string(), |v| format!("{v:.2}"));
    for m in &run.metrics {
        let largest = m.largest().map_or("–".to_string(), |s| {
            format!(
                "{} (N = {}, d_sae = {})",
                format_ns(s.median_ns.unwrap_or(f64::NAN)),
                s.n_tokens,
                s.d_sae
            )
        });
        out.push_str(&format!(
            "| `{}`{} | {largest} | {} | {} | {} |\n",
            m.metric.replace('|', "\\|").replace('`', "'"),
            if m.oracle { " (oracle)" } else { "" },
            e(m.fit.n_exponent),
            e(m.fit.d_sae_exponent),
            e(m.fit.r_squared)
        ));
    }
    out
}

/// Quotes a CSV field when it needs it.
fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// A duration in nanoseconds with a unit that keeps 3 significant digits:
/// `812 ns`, `1.23 µs`, `45.6 ms`, `2.10 s`.
pub fn format_ns(ns: f64) -> String {
    if !ns.is_finite() {
        return "–".into();
    }
    let (v, unit) = if ns < 1e3 {
        (ns, "ns")
    } else if ns < 1e6 {
        (ns / 1e3, "µs")
    } else if ns < 1e9 {
        (ns / 1e6, "ms")
    } else {
        (ns / 1e9, "s")
    };
    let decimals = if v >= 100.0 {
        0
    } else if v >= 10.0 {
        1
    } else {
        2
    };
    format!("{v:.decimals$} {unit}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_keep_three_significant_digits() {
        assert_eq!(format_ns(812.0), "812 ns");
        assert_eq!(format_ns(1234.0), "1.23 µs");
        assert_eq!(format_ns(45_600_000.0), "45.6 ms");
        assert_eq!(format_ns(2.1e9), "2.10 s");
        assert_eq!(format_ns(f64::NAN), "–");
    }

    #[test]
    fn csv_quotes_a_metric_id_with_a_comma() {
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("plain"), "plain");
    }
}

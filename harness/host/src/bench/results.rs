//! `bench.json` (and its CSV and Markdown forms): every metric's runtime at
//! every size, with criterion's median and its confidence interval, and the
//! fitted scaling exponents.

use super::fit::ScalingFit;
use super::settings::BenchSettings;
use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Version of the `bench.json` layout; bumped on any incompatible change.
pub const BENCH_SCHEMA_VERSION: u32 = 1;

/// The file name of the results.
pub const BENCH_FILE: &str = "bench.json";

/// Everything `rdpbench bench` measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BenchRun {
    pub schema_version: u32,
    pub tool: String,
    pub tool_version: String,
    pub settings: BenchSettings,
    /// The activation cache whose held-out rows were benchmarked (`bench
    /// --cache`); absent: toy rows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub activation_cache: Option<PathBuf>,
    /// The SAEs benchmarked on (one per `d_sae`).
    pub saes: Vec<BenchSae>,
    pub metrics: Vec<MetricBench>,
}

/// One SAE of the size grid.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BenchSae {
    /// SAELens folder it was loaded from.
    pub folder: PathBuf,
    /// `cfg.json`'s architecture.
    pub architecture: String,
    pub d_in: usize,
    pub d_sae: usize,
}

/// One metric's measurements.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricBench {
    pub metric: String,
    pub oracle: bool,
    pub library: PathBuf,
    pub sha256: String,
    pub sizes: Vec<SizeResult>,
    /// `ln t = c + α ln N + β ln d_sae` over the sizes measured.
    pub fit: ScalingFit,
}

/// One metric at one size.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SizeResult {
    pub d_sae: usize,
    pub n_tokens: usize,
    /// Criterion's bench id (`group/parameter`).
    pub bench_id: String,
    /// Median time per call, with its bootstrap confidence interval.
    pub median_ns: Option<f64>,
    pub median_ci_low_ns: Option<f64>,
    pub median_ci_high_ns: Option<f64>,
    pub mean_ns: Option<f64>,
    /// `value`, `undefined` (timed: an explicit undefined is a result), or
    /// `error` (not timed).
    pub outcome: String,
    /// The error or undefined reason, when any.
    pub message: Option<String>,
}

impl MetricBench {
    /// The measured size with the most work (largest `N · d_sae`).
    pub fn largest(&self) -> Option<&SizeResult> {
        self.sizes
            .iter()
            .filter(|s| s.median_ns.is_some())
            .max_by_key(|s| (s.n_tokens * s.d_sae, s.n_tokens))
    }
}

impl BenchRun {
    /// Reads a `bench.json`, naming the file on any error.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read benchmark results {}", path.display()))?;
        let run: BenchRun = serde_json::from_str(&text)
            .with_context(|| format!("{}: not rdpbench benchmark results", path.display()))?;
        anyhow::ensure!(
            run.schema_version == BENCH_SCHEMA_VERSION,
            "{}: schema_version {} (this rdpbench reads {BENCH_SCHEMA_VERSION})",
            path.display(),
            run.schema_version
        );
        Ok(run)
    }

    /// One row per metric × size.
    pub fn csv(&self) -> String {
        let mut out = String::from(
            "metric,oracle,d_sae,n_tokens,outcome,median_ns,median_ci_low_ns,median_ci_high_ns,mean_ns\n",
        );
        let o = |v: Option<f64>| v.map_or(String::new(), |v| format!("{v}"));
        for m in &self.metrics {
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
    pub fn markdown(&self) -> String {
        let mut out = String::from(
            "| metric | median at largest size | N exponent | d_sae exponent | R² |\n|---|---:|---:|---:|---:|\n",
        );
        let e = |v: Option<f64>| v.map_or("–".to_string(), |v| format!("{v:.2}"));
        for m in &self.metrics {
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

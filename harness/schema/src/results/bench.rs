//! `bench.json` (and its CSV and Markdown forms): every metric's runtime at
//! every size, with criterion's median and its confidence interval, and the
//! fitted scaling exponents.

use crate::settings::BenchSettings;
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
    /// The metric's value on this case (raw orientation), from the untimed
    /// call before timing; absent when undefined or an error (and in
    /// bench.json files written before it was kept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<f64>,
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
        Self::parse(&text, &path.display().to_string())
    }

    /// Parses a `bench.json`'s text; `origin` (a path) names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Self> {
        let run: BenchRun = serde_json::from_str(text)
            .with_context(|| format!("{origin}: not rdpbench benchmark results"))?;
        anyhow::ensure!(
            run.schema_version == BENCH_SCHEMA_VERSION,
            "{origin}: schema_version {} (this rdpbench reads {BENCH_SCHEMA_VERSION})",
            run.schema_version
        );
        Ok(run)
    }
}

/// One measured size.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SizePoint {
    pub n_tokens: f64,
    pub d_sae: f64,
    /// Median time per call (any unit; the exponents do not depend on it).
    pub time: f64,
}

/// The fitted exponents.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScalingFit {
    /// `α`: runtime ∝ N^α at fixed d_sae.
    pub n_exponent: Option<f64>,
    /// `β`: runtime ∝ d_sae^β at fixed N.
    pub d_sae_exponent: Option<f64>,
    /// Coefficient of determination of the log-log fit.
    pub r_squared: Option<f64>,
    /// Points used (positive, finite times).
    pub n_points: usize,
}

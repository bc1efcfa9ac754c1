//! Reading criterion's results back: every benchmark criterion ran leaves
//! `<output>/<directory_name>/new/benchmark.json` (its id) and
//! `.../new/estimates.json` (bootstrap estimates, in nanoseconds per
//! iteration). The directory name is criterion's sanitized form of
//! `group/parameter`, so benchmarks are found by the ids recorded in
//! `benchmark.json`, never by re-deriving the sanitized name.

use anyhow::{Context, Result};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The part of criterion's `benchmark.json` used to find a benchmark.
#[derive(Debug, Clone, Deserialize)]
struct BenchmarkIdFile {
    group_id: String,
    value_str: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
struct IntervalFile {
    lower_bound: f64,
    upper_bound: f64,
    confidence_level: f64,
}

#[derive(Debug, Clone, Deserialize)]
struct EstimateFile {
    point_estimate: f64,
    confidence_interval: IntervalFile,
}

#[derive(Debug, Clone, Deserialize)]
struct EstimatesFile {
    mean: EstimateFile,
    median: EstimateFile,
}

/// Criterion's estimates of one benchmark, nanoseconds per call.
#[derive(Debug, Clone, PartialEq)]
pub struct Estimates {
    pub median_ns: f64,
    pub median_ci_low_ns: f64,
    pub median_ci_high_ns: f64,
    pub mean_ns: f64,
    pub confidence_level: f64,
    /// The `estimates.json` read.
    pub file: PathBuf,
}

/// Reads one `estimates.json`.
pub fn read_estimates(path: &Path) -> Result<Estimates> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read criterion estimates {}", path.display()))?;
    let e: EstimatesFile = serde_json::from_str(&text).with_context(|| {
        format!(
            "{}: not criterion estimates (expected `mean` and `median` with `point_estimate` and `confidence_interval`)",
            path.display()
        )
    })?;
    Ok(Estimates {
        median_ns: e.median.point_estimate,
        median_ci_low_ns: e.median.confidence_interval.lower_bound,
        median_ci_high_ns: e.median.confidence_interval.upper_bound,
        mean_ns: e.mean.point_estimate,
        confidence_level: e.median.confidence_interval.confidence_level,
        file: path.to_path_buf(),
    })
}

/// Every benchmark under criterion's output folder, keyed by
/// `(group id, parameter)`: the `new/` folder holding `benchmark.json`.
pub fn index(output: &Path) -> Result<BTreeMap<(String, String), PathBuf>> {
    let mut found = BTreeMap::new();
    let mut stack = vec![output.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if dir == output => {
                return Err(e).with_context(|| {
                    format!("cannot read criterion output folder {}", output.display())
                });
            }
            Err(_) => continue,
        };
        for entry in entries {
            let path = entry?.path();
            if !path.is_dir() {
                continue;
            }
            let id_file = path.join("benchmark.json");
            if path.file_name().is_some_and(|n| n == "new") && id_file.is_file() {
                let text = std::fs::read_to_string(&id_file)
                    .with_context(|| format!("cannot read {}", id_file.display()))?;
                let id: BenchmarkIdFile = serde_json::from_str(&text).with_context(|| {
                    format!("{}: not a criterion benchmark id", id_file.display())
                })?;
                found.insert((id.group_id, id.value_str.unwrap_or_default()), path);
            } else {
                stack.push(path);
            }
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_a_benchmark_by_its_recorded_id_and_reads_its_median() {
        let root = std::env::temp_dir().join(format!("rdpbench-est-{}", std::process::id()));
        let new = root.join("a_b").join("d32_n100").join("new");
        std::fs::create_dir_all(&new).unwrap();
        std::fs::write(
            new.join("benchmark.json"),
            r#"{"group_id":"a/b","function_id":null,"value_str":"d32 n100","throughput":null,
               "full_id":"a/b/d32 n100","directory_name":"a_b/d32_n100","title":"a/b/d32 n100"}"#,
        )
        .unwrap();
        let ci = |lo: f64, hi: f64| {
            format!(r#"{{"confidence_level":0.95,"lower_bound":{lo},"upper_bound":{hi}}}"#)
        };
        let est = |p: f64, lo: f64, hi: f64| {
            format!(
                r#"{{"confidence_interval":{},"point_estimate":{p},"standard_error":1.0}}"#,
                ci(lo, hi)
            )
        };
        std::fs::write(
            new.join("estimates.json"),
            format!(
                r#"{{"mean":{},"median":{},"median_abs_dev":{},"slope":null,"std_dev":{}}}"#,
                est(120.0, 110.0, 130.0),
                est(100.0, 95.0, 105.0),
                est(3.0, 2.0, 4.0),
                est(9.0, 8.0, 10.0)
            ),
        )
        .unwrap();
        let idx = index(&root).unwrap();
        let dir = &idx[&("a/b".to_string(), "d32 n100".to_string())];
        let e = read_estimates(&dir.join("estimates.json")).unwrap();
        assert_eq!(
            (
                e.median_ns,
                e.median_ci_low_ns,
                e.median_ci_high_ns,
                e.mean_ns
            ),
            (100.0, 95.0, 105.0, 120.0)
        );
        let err = read_estimates(&dir.join("benchmark.json")).unwrap_err();
        assert!(format!("{err:#}").contains("benchmark.json"), "{err:#}");
        std::fs::remove_dir_all(&root).unwrap();
    }
}

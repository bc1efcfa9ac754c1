//! `rdpbench bench`: every loaded metric timed with criterion on trained
//! SAEs at several sizes (`d_sae × N`), and each metric's scaling exponents
//! fitted from the medians.
//!
//! criterion is driven as a library: `Criterion::default()` (which never
//! reads the process arguments) with the `[bench]` sample size, warm-up and
//! measurement times, writing into `<results>/<[bench].dir>/criterion/`.
//! One criterion group per metric, one benchmark per size; each call is
//! `metric.compute(input)` on an input holding only what the metric
//! declares. Before timing, every (metric, size) is evaluated once: an error
//! is recorded and that size is not timed; an explicit "undefined" is timed
//! like a value. After the run the estimates are read back from criterion's
//! `estimates.json` files ([`estimates`]) and the exponents fitted
//! ([`fit`]). criterion's own console output goes where the caller's
//! [`CriterionOutput`] says ([`output`]): left alone, onto stderr, or into a
//! log file.

pub mod cases;
pub mod estimates;
pub mod fit;
pub mod output;

pub use cases::{BenchCase, BenchRows, build_cases, train_bench_saes};
pub use fit::fit_scaling;
pub use output::CriterionOutput;
pub use rdpbench_schema::results::bench::{
    BENCH_FILE, BENCH_SCHEMA_VERSION, BenchRun, BenchSae, MetricBench, SizeResult,
};
pub use rdpbench_schema::results::bench::{ScalingFit, SizePoint};
pub use rdpbench_schema::settings::BenchSettings;

use crate::progress::{Progress, UnitKind};
use anyhow::Result;
use criterion::{BenchmarkId, Criterion};
use rdpbench_core::eval::{applicable, metric_input};
use rdpbench_plugin_host::PluginSet;
use rdpbench_sdk::{Metric, MetricOutput};
use std::path::Path;
use std::time::Duration;

/// The sub-folder of `[bench].dir` criterion writes into.
pub const CRITERION_DIR: &str = "criterion";

fn criterion(settings: &BenchSettings, output: &Path) -> Criterion {
    let c = Criterion::default()
        .output_directory(output)
        .sample_size(settings.sample_size)
        .warm_up_time(Duration::from_secs_f64(settings.warm_up_secs))
        .measurement_time(Duration::from_secs_f64(settings.measurement_secs))
        .nresamples(settings.nresamples)
        .with_output_color(false);
    if settings.plots { c } else { c.without_plots() }
}

/// What one untimed evaluation of a (metric, case) gave.
fn probe(metric: &dyn Metric, case: &BenchCase) -> (String, Option<String>, Option<f64>) {
    let spec = metric.spec();
    if !applicable(&spec, &case.case) {
        return (
            "error".into(),
            Some(format!(
                "metric `{}` reads an encoder and this SAE has none",
                spec.id
            )),
            None,
        );
    }
    match metric.compute(&metric_input(&spec, &case.case)) {
        Ok(MetricOutput::Value { value, .. }) => ("value".into(), None, Some(value)),
        Ok(MetricOutput::Undefined { reason }) => ("undefined".into(), Some(reason), None),
        Err(e) => ("error".into(), Some(format!("{e:#}")), None),
    }
}

/// Benchmarks every metric of `plugins` on every case; criterion writes into
/// `criterion_dir`, whose estimates are then read back and fitted. Its
/// console output goes to `console` while each metric's group runs.
pub fn run_bench(
    plugins: &PluginSet,
    saes: Vec<BenchSae>,
    cases: &[BenchCase],
    settings: &BenchSettings,
    criterion_dir: &Path,
    console: &CriterionOutput,
    observer: &mut dyn Progress,
) -> Result<BenchRun> {
    settings.validate()?;
    std::fs::create_dir_all(criterion_dir).map_err(|e| {
        anyhow::anyhow!(
            "cannot create criterion output folder {}: {e}",
            criterion_dir.display()
        )
    })?;
    let mut c = criterion(settings, criterion_dir);
    let total = plugins.metrics.len();
    let mut probes = Vec::with_capacity(total);
    observer.phase("benchmark");
    for (i, m) in plugins.metrics.iter().enumerate() {
        let id = m.id().to_string();
        observer.unit(UnitKind::Metric, i, total, &id);
        let outcomes: Vec<(String, Option<String>, Option<f64>)> =
            cases.iter().map(|case| probe(m, case)).collect();
        for (case, (outcome, message, _)) in cases.iter().zip(&outcomes) {
            if outcome == "error" {
                observer.error(&format!(
                    "{id} at {} not timed: {}",
                    case.label,
                    message.as_deref().unwrap_or("")
                ));
            }
        }
        let redirect = output::Redirect::start(console)?;
        let mut group = c.benchmark_group(id.clone());
        let spec = m.cached_spec().clone();
        for (case, (outcome, _, _)) in cases.iter().zip(&outcomes) {
            if outcome == "error" {
                continue;
            }
            let input = metric_input(&spec, &case.case);
            group.bench_with_input(
                BenchmarkId::from_parameter(&case.label),
                &input,
                |b, input| b.iter(|| std::hint::black_box(m.compute(std::hint::black_box(input)))),
            );
        }
        group.finish();
        drop(redirect);
        probes.push(outcomes);
    }
    let found = estimates::index(criterion_dir)?;
    let mut metrics = Vec::with_capacity(total);
    for (m, outcomes) in plugins.metrics.iter().zip(probes) {
        let id = m.id().to_string();
        let mut sizes = Vec::with_capacity(cases.len());
        for (case, (outcome, message, value)) in cases.iter().zip(outcomes) {
            let est = if outcome == "error" {
                None
            } else {
                let dir = found
                    .get(&(id.clone(), case.label.clone()))
                    .ok_or_else(|| {
                        anyhow::anyhow!(
                            "criterion wrote no results for `{id}/{}` under {}",
                            case.label,
                            criterion_dir.display()
                        )
                    })?;
                Some(estimates::read_estimates(&dir.join("estimates.json"))?)
            };
            sizes.push(SizeResult {
                d_sae: case.d_sae,
                n_tokens: case.n_tokens,
                bench_id: format!("{id}/{}", case.label),
                median_ns: est.as_ref().map(|e| e.median_ns),
                median_ci_low_ns: est.as_ref().map(|e| e.median_ci_low_ns),
                median_ci_high_ns: est.as_ref().map(|e| e.median_ci_high_ns),
                mean_ns: est.as_ref().map(|e| e.mean_ns),
                outcome,
                message,
                value,
            });
        }
        let points: Vec<SizePoint> = sizes
            .iter()
            .filter_map(|s| {
                s.median_ns.map(|t| SizePoint {
                    n_tokens: s.n_tokens as f64,
                    d_sae: s.d_sae as f64,
                    time: t,
                })
            })
            .collect();
        metrics.push(MetricBench {
            metric: id,
            oracle: m.cached_spec().is_oracle(),
            library: m.library().path().to_path_buf(),
            sha256: m.library().sha256().to_string(),
            sizes,
            fit: fit_scaling(&points),
        });
    }
    Ok(BenchRun {
        schema_version: BENCH_SCHEMA_VERSION,
        tool: "rdpbench".into(),
        tool_version: crate::VERSION.into(),
        settings: settings.clone(),
        activation_cache: None,
        saes,
        metrics,
    })
}

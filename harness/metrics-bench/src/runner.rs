//! Loads metric plugins through the host and times them on a [`Workload`].

use crate::workload::Workload;
use anyhow::{Result, bail};
use rdpbench_plugin_host::{LoadedMetric, PluginSearch, PluginSet};
use rdpbench_sdk::{Input, Metric, MetricInput, MetricOutput};
use std::path::Path;
use std::time::Instant;

/// Every metric plugin built in `build_dir` (e.g. `target/release`), except
/// oracles (they read the ground-truth directions, which this workload
/// does not have), sorted by id. Fails on any plugin load error.
pub fn load_metrics(build_dir: &Path) -> Result<Vec<LoadedMetric>> {
    let set = PluginSet::discover(&PluginSearch {
        build_dirs: vec![build_dir.to_path_buf()],
        ..PluginSearch::default()
    });
    if !set.errors.is_empty() {
        bail!(
            "plugin load errors in {}: {:?}",
            build_dir.display(),
            set.errors
        );
    }
    let mut metrics: Vec<LoadedMetric> = set
        .metrics
        .into_iter()
        .filter(|m| !m.cached_spec().is_oracle())
        .collect();
    metrics.sort_by(|a, b| a.id().cmp(b.id()));
    if metrics.is_empty() {
        bail!(
            "no metric plugin in {}: run `cargo build --release` of the metric crates first",
            build_dir.display()
        );
    }
    Ok(metrics)
}

/// The input a metric declares, cut from the workload; scalar output only
/// (`per_latent = false`), as the conditions call metrics.
pub fn input_for<'a>(w: &'a Workload, inputs: &[Input]) -> MetricInput<'a> {
    let has = |i: Input| inputs.contains(&i);
    MetricInput {
        n_tokens: w.spec.n_tokens,
        d_in: w.spec.d_in,
        d_sae: w.spec.d_sae,
        n_concepts: w.spec.n_concepts(),
        decoder: has(Input::Decoder).then(|| w.decoder.view()),
        encoder: has(Input::Encoder).then(|| w.encoder.view()),
        activations: has(Input::Activations).then(|| w.activations.view()),
        codes: has(Input::Codes).then(|| w.codes.view()),
        labels: has(Input::Labels).then(|| w.labels.view()),
        concept_directions: None,
        config: "{}",
        per_latent: false,
    }
}

/// Wall-clock times of repeated calls, and the (identical) output.
#[derive(Debug, Clone)]
pub struct Timing {
    pub output: MetricOutput,
    /// Seconds per call, in call order.
    pub times_s: Vec<f64>,
}

impl Timing {
    /// Median of the call times.
    pub fn median_s(&self) -> f64 {
        let mut t = self.times_s.clone();
        t.sort_by(f64::total_cmp);
        let m = t.len() / 2;
        if t.len() % 2 == 1 {
            t[m]
        } else {
            0.5 * (t[m - 1] + t[m])
        }
    }
}

/// Calls `metric` once to warm up, then `reps` times (fewer when one call
/// takes more than `budget_s / reps`, at least once). Fails when two calls
/// disagree in a single bit (condition C9).
pub fn time_metric(
    metric: &dyn Metric,
    input: &MetricInput<'_>,
    reps: usize,
    budget_s: f64,
) -> Result<Timing> {
    let start = Instant::now();
    let output = metric.compute(input)?;
    let first = start.elapsed().as_secs_f64();
    let reps = if first * reps as f64 > budget_s {
        ((budget_s / first.max(1e-9)) as usize).clamp(1, reps.max(1))
    } else {
        reps.max(1)
    };
    let mut times_s = Vec::with_capacity(reps);
    for _ in 0..reps {
        let start = Instant::now();
        let again = metric.compute(input)?;
        times_s.push(start.elapsed().as_secs_f64());
        let bits = |o: &MetricOutput| o.as_value().map(f64::to_bits);
        if bits(&again) != bits(&output) {
            bail!("two calls on the same input disagree: {output:?} vs {again:?}");
        }
    }
    Ok(Timing { output, times_s })
}

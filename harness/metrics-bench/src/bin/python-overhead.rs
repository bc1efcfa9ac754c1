//! The cost of running a metric in Python: per-call overhead of the worker
//! protocol against the metric's own numpy time, at the default check size.
//!
//! `python-overhead [--build-dir target/release] [--python-dir python/metrics] [--calls 41]`
//!
//! Builds the default check workbench (the embedded default configuration,
//! seed 0, `[check].n_samples` rows) and calls, on its monosemantic oracle
//! SAE `M`, each Rust metric and its Python twin (`python/metrics/*.py`,
//! id `<rust id>-py`) `--calls` times, interleaved. Per call of the Python
//! twin: the round trip seen by the host, and the worker's own seconds
//! (building the numpy inputs and `compute`), whose difference is the
//! overhead (encoding, the pipe, decoding). Prints one JSON object per
//! metric with medians over calls; the values of both twins are checked
//! to agree within 1e-9 relative.

use anyhow::{Context as _, Result, bail};
use rdpbench_core::conditions::Workbench;
use rdpbench_core::eval::metric_input;
use rdpbench_plugin_host::{PluginSearch, PluginSet};
use rdpbench_sdk::{Metric, MetricInput};
use serde_json::json;
use std::path::PathBuf;
use std::time::Instant;

const TWINS: [(&str, &str); 3] = [
    ("mean-firing-density", "firing_density.py"),
    ("label-entropy", "label_entropy.py"),
    ("mean-max-decoder-cosine", "decoder_cosine.py"),
];

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let m = v.len() / 2;
    if v.len() % 2 == 1 {
        v[m]
    } else {
        0.5 * (v[m - 1] + v[m])
    }
}

fn timed(metric: &dyn Metric, input: &MetricInput<'_>) -> Result<(f64, Option<f64>)> {
    let t = Instant::now();
    let out = metric.compute(input)?;
    Ok((t.elapsed().as_secs_f64(), out.as_value()))
}

fn main() -> Result<()> {
    let mut build_dir = PathBuf::from("target/release");
    let mut python_dir = PathBuf::from("python/metrics");
    let mut calls = 41usize;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = || args.next().with_context(|| format!("{a} needs a value"));
        match a.as_str() {
            "--build-dir" => build_dir = value()?.into(),
            "--python-dir" => python_dir = value()?.into(),
            "--calls" => calls = value()?.parse().context("--calls")?,
            other => bail!("unknown argument {other}"),
        }
    }
    let config = rdpbench_schema::config::Config::defaults();
    let mut settings = config.check.clone();
    settings.seeds = vec![0];
    let bench = Workbench::build(&config.toy, &settings)?;
    let case = &bench.seeds[0].mono;
    let set = PluginSet::discover(&PluginSearch {
        build_dirs: vec![build_dir.clone()],
        files: TWINS.iter().map(|t| python_dir.join(t.1)).collect(),
        ..PluginSearch::default()
    });
    if !set.errors.is_empty() {
        bail!("plugin load errors: {:?}", set.errors);
    }
    for (rust_id, _) in TWINS {
        let rust = set
            .metric(rust_id)
            .with_context(|| format!("{rust_id} is not built in {}", build_dir.display()))?;
        let python = set
            .metric(&format!("{rust_id}-py"))
            .with_context(|| format!("no {rust_id}-py"))?;
        let worker = python.library().python().context("not a Python metric")?;
        let (rs, ps) = (rust.cached_spec(), python.cached_spec());
        let (ri, pi) = (metric_input(rs, case), metric_input(ps, case));
        // Warm up both (imports, caches).
        let (_, rv) = timed(rust, &ri)?;
        let (_, pv) = timed(python, &pi)?;
        let (rv, pv) = (
            rv.context("rust undefined")?,
            pv.context("python undefined")?,
        );
        if (rv - pv).abs() > 1e-9 * rv.abs().max(pv.abs()) {
            bail!("{rust_id}: rust {rv} vs python {pv}");
        }
        let (mut rust_s, mut trip_s, mut numpy_s, mut over_s) = (vec![], vec![], vec![], vec![]);
        for _ in 0..calls {
            rust_s.push(timed(rust, &ri)?.0);
            let trip = timed(python, &pi)?.0;
            let own = worker
                .last_worker_seconds()
                .context("no seconds reported")?;
            trip_s.push(trip);
            numpy_s.push(own);
            over_s.push(trip - own);
        }
        let (trip, own, over) = (median(trip_s), median(numpy_s), median(over_s));
        let line = json!({
            "metric": rust_id,
            "n_tokens": ri.n_tokens, "d_sae": ri.d_sae, "d_in": ri.d_in, "n_concepts": ri.n_concepts,
            "nnz_codes": pi.codes.map(|c| c.indices.len()),
            "calls": calls,
            "rust_median_ms": 1e3 * median(rust_s),
            "python_round_trip_median_ms": 1e3 * trip,
            "python_numpy_median_ms": 1e3 * own,
            "overhead_median_ms": 1e3 * over,
            "overhead_over_numpy": over / own,
            "overhead_share_of_call": over / trip,
        });
        #[allow(clippy::print_stdout)]
        {
            println!("{line}");
        }
    }
    Ok(())
}

//! Times every metric plugin of a build folder on the benchmark workload and
//! dumps the workload as `.npy` for the Python side.
//!
//! `metrics-timing --out DIR [--reps 5] [--budget-s 60] [--metrics a,b] [--build-dir target/release]`
//!
//! Writes `DIR/{codes_indptr,codes_indices,codes_values,labels_indptr,
//! labels_indices,activations,decoder,encoder}.npy`, `DIR/workload.json`
//! and `DIR/rust.json` (value and call times per metric), and prints
//! `DIR/rust.json`'s path on stdout. Threads: `RDPBENCH_THREADS`.

use anyhow::{Context as _, Result, bail};
use mimalloc::MiMalloc;
use rdpbench_metrics_bench::npy;
use rdpbench_metrics_bench::runner::{input_for, load_metrics, time_metric};
use rdpbench_metrics_bench::workload::{Workload, WorkloadSpec};
use serde_json::json;
use std::io::Write as _;
use std::path::PathBuf;

#[global_allocator]
static GLOBAL: MiMalloc = MiMalloc;

struct Args {
    out: PathBuf,
    reps: usize,
    budget_s: f64,
    metrics: Option<Vec<String>>,
    build_dir: PathBuf,
}

fn parse_args() -> Result<Args> {
    let exe = std::env::current_exe()?;
    let mut args = Args {
        out: PathBuf::from("target/metrics-bench"),
        reps: 5,
        budget_s: 60.0,
        metrics: None,
        build_dir: exe.parent().context("exe folder")?.to_path_buf(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().with_context(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--out" => args.out = PathBuf::from(value()?),
            "--reps" => args.reps = value()?.parse().context("--reps")?,
            "--budget-s" => args.budget_s = value()?.parse().context("--budget-s")?,
            "--metrics" => args.metrics = Some(value()?.split(',').map(str::to_owned).collect()),
            "--build-dir" => args.build_dir = PathBuf::from(value()?),
            other => bail!("unknown argument {other:?} (see the source header for usage)"),
        }
    }
    Ok(args)
}

fn dump(w: &Workload, out: &std::path::Path) -> Result<()> {
    let (n, f, d) = (w.spec.n_tokens, w.spec.d_sae, w.spec.d_in);
    npy::write(&out.join("codes_indptr.npy"), &[n + 1], &w.codes.indptr)?;
    npy::write(
        &out.join("codes_indices.npy"),
        &[w.codes.nnz()],
        &w.codes.indices,
    )?;
    npy::write(
        &out.join("codes_values.npy"),
        &[w.codes.nnz()],
        &w.codes.values,
    )?;
    npy::write(&out.join("labels_indptr.npy"), &[n + 1], &w.labels.indptr)?;
    npy::write(
        &out.join("labels_indices.npy"),
        &[w.labels.nnz()],
        &w.labels.indices,
    )?;
    npy::write(&out.join("activations.npy"), &[n, d], &w.activations.data)?;
    npy::write(&out.join("decoder.npy"), &[f, d], &w.decoder.data)?;
    npy::write(&out.join("encoder.npy"), &[d, f], &w.encoder.data)?;
    let s = w.spec;
    let meta = json!({
        "n_tokens": n, "d_sae": f, "d_in": d, "k": s.k,
        "n_concepts": s.n_concepts(), "n_parents": s.n_parents,
        "children_per_parent": s.children_per_parent, "seed": s.seed,
    });
    rdpbench_store::write_atomic(
        &out.join("workload.json"),
        serde_json::to_string_pretty(&meta)?.as_bytes(),
    )?;
    Ok(())
}

fn main() -> Result<()> {
    let args = parse_args()?;
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    let mut metrics = load_metrics(&args.build_dir)?;
    if let Some(ids) = &args.metrics {
        for id in ids {
            if !metrics.iter().any(|m| m.id() == id) {
                bail!("no metric {id:?} in {}", args.build_dir.display());
            }
        }
        metrics.retain(|m| ids.iter().any(|id| id == m.id()));
    }
    eprintln!("generating the workload ...");
    let w = Workload::generate(WorkloadSpec::default())?;
    dump(&w, &args.out)?;
    let mut results = Vec::new();
    for m in &metrics {
        let input = input_for(&w, &m.cached_spec().inputs);
        let t = time_metric(m, &input, args.reps, args.budget_s)
            .with_context(|| format!("metric {}", m.id()))?;
        eprintln!(
            "{:<28} median {:>9.4} s over {} calls, value {:?}",
            m.id(),
            t.median_s(),
            t.times_s.len(),
            t.output.as_value()
        );
        results.push(json!({
            "id": m.id(),
            "value": t.output.as_value(),
            "median_s": t.median_s(),
            "times_s": t.times_s,
        }));
    }
    let path = args.out.join("rust.json");
    let doc = json!({
        "threads": rdpbench_threads(),
        "metrics": results,
    });
    rdpbench_store::write_atomic(&path, serde_json::to_string_pretty(&doc)?.as_bytes())?;
    writeln!(std::io::stdout().lock(), "{}", path.display())?;
    Ok(())
}

/// The thread count the metric kernels use (`RDPBENCH_THREADS`, else all cores).
fn rdpbench_threads() -> usize {
    std::env::var("RDPBENCH_THREADS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

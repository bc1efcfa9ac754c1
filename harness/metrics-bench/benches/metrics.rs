//! Criterion benchmarks of every (non-oracle) metric plugin on the issue's
//! workload (100k tokens, d_sae 16384, d_in 512, k = 64, 256 concepts),
//! called through the plugin host exactly as `rdpbench` calls them.
//!
//! `cargo build --release -p <metric crates> && cargo bench -p rdpbench-metrics-bench --bench metrics`
//! (`scripts/bench-metrics-vs-python.sh` does the builds). Filter with
//! criterion's usual argument, e.g. `-- concept-purity`. The workload is
//! generated once; sample size 10 (each call takes up to seconds).

use criterion::{Criterion, criterion_group, criterion_main};
use rdpbench_metrics_bench::runner::{input_for, load_metrics};
use rdpbench_metrics_bench::workload::{Workload, WorkloadSpec};
use rdpbench_sdk::Metric;
use std::hint::black_box;
use std::time::Duration;

fn bench(c: &mut Criterion) {
    let exe = std::env::current_exe().expect("bench path");
    let build_dir = exe
        .parent()
        .and_then(|d| d.parent())
        .expect("target/<profile>/deps")
        .to_path_buf();
    let metrics = load_metrics(&build_dir).expect("metric plugins");
    let w = Workload::generate(WorkloadSpec::default()).expect("workload");
    let mut g = c.benchmark_group("metric");
    g.sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(5));
    for m in &metrics {
        let input = input_for(&w, &m.cached_spec().inputs);
        g.bench_function(m.id(), |b| b.iter(|| m.compute(black_box(&input)).unwrap()));
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

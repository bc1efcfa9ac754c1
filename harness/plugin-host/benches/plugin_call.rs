//! Overhead of one metric call through the plugin ABI vs a direct Rust call
//! of the same function.
//!
//! Needs release builds of the template and no-op plugins:
//! `cargo build --release -p rdpbench-metric-template -p test-plugin-noop && cargo bench -p rdpbench-plugin-host --bench plugin_call`
//!
//! - `boundary/{direct,plugin}`: a metric that does no work (the same
//!   function in-process and in `tests/plugins/noop`): the difference of the
//!   medians is the pure cost of crossing the ABI (input struct, the
//!   library's call lock, `catch_unwind`, output conversion).
//! - `metric_call/{direct,plugin}`: the template metric on a tiny input,
//!   scalar result (as the conditions call it).
//! - `metric_call_per_latent/{direct,plugin}`: the same with per-latent
//!   scores copied back (cost proportional to `d_sae`).
//!
//! Direct calls go through `&dyn Metric`, as the harness calls an
//! in-process metric, so the comparison measures the boundary rather than
//! inlining into the benchmark loop.
//!
//! `RDPBENCH_BENCH_CLOCK=thread-cpu` measures the benchmark thread's CPU
//! time instead of wall time: on a shared, loaded machine that excludes the
//! time the thread spends preempted (caches are still shared, so treat it as
//! a development aid; quote wall-clock numbers from a quiet machine).

use criterion::Criterion;
use criterion::measurement::{Measurement, ValueFormatter, WallTime};
use rdpbench_metric_template::LabelEntropy;
use rdpbench_plugin_host::PluginSet;
use rdpbench_sdk::{CsrMatrix, DenseMatrix, Metric, MetricInput, MetricOutput, MetricSpec};
use std::hint::black_box;
use std::path::PathBuf;

fn library(stem: &str, package: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("bench path");
    let dir = exe
        .parent()
        .and_then(|d| d.parent())
        .expect("target/<profile>/deps");
    let lib = dir.join(format!(
        "{}{stem}.{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_EXTENSION
    ));
    assert!(
        lib.is_file(),
        "{} is missing: run `cargo build --release -p {package}` first",
        lib.display()
    );
    lib
}

/// The same function as `tests/plugins/noop`, in-process.
struct Noop;
impl Metric for Noop {
    fn spec(&self) -> MetricSpec {
        unreachable!("only compute is benchmarked")
    }
    fn compute(&self, input: &MetricInput<'_>) -> anyhow::Result<MetricOutput> {
        Ok(MetricOutput::value(input.n_tokens as f64))
    }
}

fn compare<M: Measurement>(
    c: &mut Criterion<M>,
    group: &str,
    direct: &dyn Metric,
    plugin: &dyn Metric,
    input: &MetricInput<'_>,
) {
    assert_eq!(
        direct.compute(input).unwrap(),
        plugin.compute(input).unwrap(),
        "same answer both ways before timing anything"
    );
    let direct = black_box(direct);
    let mut g = c.benchmark_group(group);
    g.bench_function("direct", |b| {
        b.iter(|| direct.compute(black_box(input)).unwrap())
    });
    g.bench_function("plugin", |b| {
        b.iter(|| plugin.compute(black_box(input)).unwrap())
    });
    g.finish();
}

fn bench<M: Measurement>(c: &mut Criterion<M>) {
    let codes = CsrMatrix::from_dense(
        &DenseMatrix::from_vec(2, 2, vec![1.0, 0.0, 0.0, 2.0])
            .unwrap()
            .view(),
    );
    let mut labels = codes.clone();
    labels.values.clear();
    let mut input = MetricInput {
        n_tokens: 2,
        d_in: 0,
        d_sae: 2,
        n_concepts: 2,
        decoder: None,
        encoder: None,
        activations: None,
        codes: Some(codes.view()),
        labels: Some(labels.view()),
        concept_directions: None,
        config: "{}",
        per_latent: false,
    };
    let mut set = PluginSet::default();
    set.load_file(&library("test_plugin_noop", "test-plugin-noop"));
    set.load_file(&library(
        "rdpbench_metric_template",
        "rdpbench-metric-template",
    ));
    assert!(set.errors.is_empty(), "{:?}", set.errors);
    let noop = set.metric("noop").expect("noop metric").clone();
    let template = set
        .metric("label-entropy")
        .expect("template metric")
        .clone();

    compare(c, "boundary", &Noop, &noop, &input);
    compare(c, "metric_call", &LabelEntropy, &template, &input);
    input.per_latent = true;
    compare(
        c,
        "metric_call_per_latent",
        &LabelEntropy,
        &template,
        &input,
    );
}

/// CPU time of the calling thread (`CLOCK_THREAD_CPUTIME_ID`), in ns.
#[derive(Debug)]
struct ThreadCpuTime;

fn thread_cpu_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; the clock id is a constant
    // every Linux kernel supports.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime(CLOCK_THREAD_CPUTIME_ID) failed");
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

impl Measurement for ThreadCpuTime {
    type Intermediate = u64;
    type Value = u64;
    fn start(&self) -> u64 {
        thread_cpu_ns()
    }
    fn end(&self, start: u64) -> u64 {
        thread_cpu_ns() - start
    }
    fn add(&self, a: &u64, b: &u64) -> u64 {
        a + b
    }
    fn zero(&self) -> u64 {
        0
    }
    fn to_f64(&self, v: &u64) -> f64 {
        *v as f64
    }
    fn formatter(&self) -> &dyn ValueFormatter {
        WallTime.formatter()
    }
}

fn main() {
    let thread_cpu = match std::env::var("RDPBENCH_BENCH_CLOCK").as_deref() {
        Ok("thread-cpu") => true,
        Ok("wall") | Err(_) => false,
        Ok(other) => panic!("RDPBENCH_BENCH_CLOCK={other}: expected `wall` or `thread-cpu`"),
    };
    if thread_cpu {
        let mut c = Criterion::default()
            .with_measurement(ThreadCpuTime)
            .configure_from_args();
        bench(&mut c);
    } else {
        let mut c = Criterion::default().configure_from_args();
        bench(&mut c);
    }
    Criterion::default().configure_from_args().final_summary();
}

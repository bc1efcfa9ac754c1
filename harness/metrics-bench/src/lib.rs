//! Benchmarks of rdpbench's metric plugins on a realistic workload.
//!
//! - [`workload`]: the seeded synthetic workload (codes, labels, activations,
//!   decoder, encoder), generated once in memory.
//! - [`npy`]: writes it as `.npy` files, so the Python side
//!   (`scripts/bench_metrics_python.py`) reads exactly the same numbers.
//! - [`runner`]: loads the metric plugins from a Cargo build folder through
//!   the plugin host, as `rdpbench` calls them, and times them.
//!
//! Entry points: `cargo bench -p rdpbench-metrics-bench` (criterion) and the
//! `metrics-timing` binary that `scripts/bench-metrics-vs-python.sh` runs.
#![forbid(unsafe_code)]

pub mod npy;
pub mod runner;
pub mod workload;

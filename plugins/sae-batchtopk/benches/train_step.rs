//! One BatchTopK training step at the real-data shape: the TopK bench's body
//! (`plugins/sae-topk/benches/support/sparse_step_bench.rs`) for this architecture.
//!
//! `cargo bench -p rdpbench-sae-batchtopk --bench train_step`

#[path = "../../sae-topk/benches/support/sparse_step_bench.rs"]
mod sparse_step_bench;

use criterion::{Criterion, criterion_group, criterion_main};

fn bench(c: &mut Criterion) {
    sparse_step_bench::train_steps(c, "batchtopk", &rdpbench_sae_batchtopk::BatchTopK);
}

criterion_group!(benches, bench);
criterion_main!(benches);

//! One TopK-SAE training step at the real-data shape (the body, shared with
//! the BatchTopK and Matryoshka benches, is in `support/sparse_step_bench.rs`),
//! beside the one dense GEMM such a step cannot avoid (the encoder,
//! `[1024, 576] x [576, 2304]`). `scripts/bench-topk-step.sh` runs the three
//! benches and the PyTorch twin (`scripts/bench_topk_step_torch.py`) side
//! by side.
//!
//! The `decode` group sets the density at which `sparse_decode` stops
//! paying: forward and backward of `(z ⊙ mask) W_dec` at k non-zeros per row
//! (k = 8 ... 288 of 2304; AuxK uses k_aux = d_in / 2 = 288), sparse vs GEMM.
//!
//! `cargo bench -p rdpbench-sae-topk --bench train_step`

#[path = "support/sparse_step_bench.rs"]
mod sparse_step_bench;

use criterion::{Criterion, criterion_group, criterion_main};
use rdpbench_sae_topk::TopK;
use rdpbench_train::candle_core::{Device, Tensor, Var};
use sparse_step_bench::{B, D_IN, D_SAE, randn};
use std::hint::black_box;

fn bench(c: &mut Criterion) {
    sparse_step_bench::train_steps(c, "topk", &TopK);

    let (a, w) = (randn(B, D_IN, 1), randn(D_IN, D_SAE, 2));
    let mut g = c.benchmark_group("matmul");
    g.sample_size(10);
    g.bench_function("candle_1024x576x2304", |b| {
        b.iter(|| black_box(a.matmul(&w).unwrap()))
    });
    g.finish();
}

/// Forward + backward of `(z ⊙ mask) W` with `k` non-zeros per row.
fn decode(c: &mut Criterion) {
    let z = Var::from_tensor(&randn(B, D_SAE, 3).abs().unwrap()).unwrap();
    let w = Var::from_tensor(&randn(D_SAE, D_IN, 4)).unwrap();
    let mut g = c.benchmark_group("decode");
    g.sample_size(10);
    for k in [8usize, 32, 72, 144, 288] {
        let mask: Vec<f32> = (0..B * D_SAE)
            .map(|i| f32::from((i % D_SAE) % (D_SAE / k) == (i / D_SAE) % (D_SAE / k)))
            .collect();
        let mask = Tensor::from_vec(mask, (B, D_SAE), &Device::Cpu).unwrap();
        for sparse in [true, false] {
            let name = format!("{}_k{k}", if sparse { "sparse" } else { "gemm" });
            g.bench_function(name, |b| {
                b.iter(|| {
                    let f = (z.as_tensor() * &mask).unwrap();
                    let out = if sparse {
                        rdpbench_train::sparse_decode::sparse_decode_always(&f, w.as_tensor())
                    } else {
                        f.matmul(w.as_tensor())
                    }
                    .unwrap();
                    black_box(out.sum_all().unwrap().backward().unwrap())
                })
            });
        }
    }
    g.finish();
}

criterion_group!(benches, bench, decode);
criterion_main!(benches);

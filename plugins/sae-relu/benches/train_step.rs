//! One ReLU-SAE training step (SAELens `standard`: forward, L1 with decoder
//! norms, backward, AdamW, decoder renormalisation, dead-latent counters),
//! batch 4096, d_in 512, d_sae 4096, through the SDK's training loop
//! (`rdpbench_train::Session::step`), beside a bare matmul of the same
//! shape (the measured GEMM peak).
//!
//! `cargo bench -p rdpbench-sae-relu --bench train_step`; `scripts/bench-train-step.sh`
//! runs it and the PyTorch equivalent (`scripts/bench_train_step_torch.py`)
//! side by side and prints the ratio and the GEMM fraction of peak.
//!
//! A textbook step has six GEMMs of `2·B·d_in·d_sae` flops each (two
//! forward, four backward: dW_dec, df, dW_enc, dx for the b_dec gradient):
//! 103.1 GFLOP; PyTorch runs those six. rdpbench's encoder treats `x` as data
//! (`rdpbench_train::relu_pre_activation`) and skips `dx`: five GEMMs,
//! 85.9 GFLOP. The "GEMM rate" of `scripts/bench-train-step.sh` counts the
//! five GEMMs rdpbench runs.
//!
//! Allocator: the system's, tuned by the SDK as in the plugin library (the
//! measured 1.50x run used mimalloc, which the plugins no longer declare).

use criterion::{Criterion, criterion_group, criterion_main};
use rdpbench_sae_relu::Relu;
use rdpbench_train::candle_core::{Device, Tensor};
use rdpbench_train::rng::SplitMix64;
use rdpbench_train::{Session, TrainConfig};
use std::hint::black_box;

const B: usize = 4096;
const D_IN: usize = 512;
const D_SAE: usize = 4096;

fn randn(rows: usize, cols: usize, seed: u64) -> Tensor {
    let mut g = SplitMix64::new(seed, 1);
    let v: Vec<f32> = (0..rows * cols).map(|_| g.normal() as f32).collect();
    Tensor::from_vec(v, (rows, cols), &Device::Cpu).unwrap()
}

fn bench(c: &mut Criterion) {
    let config = TrainConfig {
        d_sae: D_SAE,
        batch_size: B,
        steps: u64::MAX,
        lr: 1e-4,
        l1_coefficient: 5.0,
        ..TrainConfig::default()
    };
    let arch = Relu;
    let mut session = Session::new(&arch, config, D_IN).unwrap();
    let x = randn(B, D_IN, 7);
    let mut g = c.benchmark_group("sae_train_step");
    g.sample_size(10);
    g.bench_function("relu_b4096_din512_dsae4096", |b| {
        b.iter(|| black_box(session.step(&x).unwrap()))
    });
    g.finish();

    let (a, w) = (randn(B, D_IN, 1), randn(D_IN, D_SAE, 2));
    let mut g = c.benchmark_group("matmul");
    g.sample_size(10);
    g.bench_function("candle_4096x512x4096", |b| {
        b.iter(|| black_box(a.matmul(&w).unwrap()))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

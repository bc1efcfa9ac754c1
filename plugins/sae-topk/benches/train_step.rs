//! One TopK-SAE training step at the shape `rdpbench real` trains by
//! default on SmolLM2-135M (batch 1024, d_in 576, d_sae 2304 = 4 x 576,
//! k = 32 and 8), through the SDK's training loop (`Session::step`:
//! forward, TopK, decode, MSE, backward, AdamW, decoder renormalisation,
//! dead-latent counters), beside the one dense GEMM such a step cannot avoid
//! (the encoder, `[1024, 576] x [576, 2304]`).
//!
//! Each shape runs twice: the hand-written step
//! (`rdpbench_train::sparse_step`, what training uses) and, suffixed
//! `_reference`, the architecture's forward through candle's autograd
//! (`Session::use_reference_step`), the function the hand-written step is
//! tested against. `scripts/bench-topk-step.sh` runs this bench and the
//! PyTorch twin (`scripts/bench_topk_step_torch.py`) side by side.
//!
//! The `decode` group sets the density at which `sparse_decode` stops
//! paying: forward and backward of `(z ⊙ mask) W_dec` at k non-zeros per row
//! (k = 8 ... 288 of 2304; AuxK uses k_aux = d_in / 2 = 288), sparse vs GEMM.
//!
//! `cargo bench -p rdpbench-sae-topk --bench train_step`

use criterion::{Criterion, criterion_group, criterion_main};
use rdpbench_sae_topk::TopK;
use rdpbench_train::candle_core::{Device, Tensor, Var};

use rdpbench_train::rng::SplitMix64;
use rdpbench_train::{Session, TrainConfig};
use std::hint::black_box;

const B: usize = 1024;
const D_IN: usize = 576;
const D_SAE: usize = 2304;

fn randn(rows: usize, cols: usize, seed: u64) -> Tensor {
    let mut g = SplitMix64::new(seed, 1);
    let v: Vec<f32> = (0..rows * cols).map(|_| g.normal() as f32).collect();
    Tensor::from_vec(v, (rows, cols), &Device::Cpu).unwrap()
}

fn bench(c: &mut Criterion) {
    let x = randn(B, D_IN, 7);
    let mut g = c.benchmark_group("sae_train_step");
    g.sample_size(10);
    for k in [32usize, 8] {
        let config = TrainConfig {
            d_sae: D_SAE,
            batch_size: B,
            steps: u64::MAX,
            lr: 1e-3,
            k: k as f64,
            // No latent goes dead over the bench's thousands of steps on
            // one batch, so no AuxK term: the PyTorch twin has none either
            // (`--dead 0`). With dead latents both steps do more work.
            dead_after_rows: u64::MAX,
            ..TrainConfig::default()
        };
        let arch = TopK;
        for reference in [false, true] {
            let mut session = Session::new(&arch, config.clone(), D_IN).unwrap();
            if reference {
                // The architecture's forward through candle's autograd.
                session.use_reference_step();
            }
            let name = format!(
                "topk_b{B}_din{D_IN}_dsae{D_SAE}_k{k}{}",
                if reference { "_reference" } else { "" }
            );
            g.bench_function(name, |b| b.iter(|| black_box(session.step(&x).unwrap())));
        }
    }
    g.finish();

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

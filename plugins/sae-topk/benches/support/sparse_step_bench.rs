//! The shared body of the three sparse architectures' `train_step`
//! benches (TopK here; BatchTopK and Matryoshka include this file by
//! `#[path]`: each plugin library exports the one plugin entry symbol, so
//! two plugins cannot link into one bench binary).
//!
//! One training step at the shape `rdpbench real` trains by default on
//! SmolLM2-135M (batch 1024, d_in 576, d_sae 2304 = 4 x 576, k = 32 and 8),
//! through the SDK's training loop (`Session::step`: forward, selection,
//! decode, MSE, backward, AdamW, decoder renormalisation, dead-latent
//! counters), twice: the hand-written step (`rdpbench_train::sparse_step`,
//! what training uses) and, suffixed `_reference`, the architecture's
//! forward through candle's autograd (`Session::use_reference_step`).
//! Functions are named `{arch}_b1024_din576_dsae2304_k{k}[_reference]` in
//! the group `sae_train_step`, as the PyTorch twin
//! (`scripts/bench_topk_step_torch.py`) keys its results.

use criterion::Criterion;
use rdpbench_train::candle_core::{Device, Tensor};
use rdpbench_train::rng::SplitMix64;
use rdpbench_train::{Architecture, Session, TrainConfig};
use std::hint::black_box;

pub const B: usize = 1024;
pub const D_IN: usize = 576;
pub const D_SAE: usize = 2304;

pub fn randn(rows: usize, cols: usize, seed: u64) -> Tensor {
    let mut g = SplitMix64::new(seed, 1);
    let v: Vec<f32> = (0..rows * cols).map(|_| g.normal() as f32).collect();
    Tensor::from_vec(v, (rows, cols), &Device::Cpu).unwrap()
}

/// Benches `arch`'s step (hand-written and reference) at k = 32 and 8.
pub fn train_steps(c: &mut Criterion, arch_name: &str, arch: &dyn Architecture) {
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
        for reference in [false, true] {
            let mut session = Session::new(arch, config.clone(), D_IN).unwrap();
            if reference {
                // The architecture's forward through candle's autograd.
                session.use_reference_step();
            }
            let name = format!(
                "{arch_name}_b{B}_din{D_IN}_dsae{D_SAE}_k{k}{}",
                if reference { "_reference" } else { "" }
            );
            g.bench_function(name, |b| b.iter(|| black_box(session.step(&x).unwrap())));
        }
    }
    g.finish();
}

#!/usr/bin/env python3
"""PyTorch CPU twin of `cargo bench -p rdpbench-sae-relu --bench train_step`.

One ReLU-SAE training step (SAELens `standard`): pre = (x - b_dec) W_enc + b_enc,
f = relu(pre), x_hat = f W_dec + b_dec, loss = E||x - x_hat||^2 + l1 * E sum_j f_j ||W_dec_j||,
backward, AdamW, decoder rows renormalised. Batch 4096, d_in 512, d_sae 4096.
Prints JSON: median step seconds and matmul GFLOP/s, on `--threads` threads.
"""
import argparse, json, statistics, time

import torch

p = argparse.ArgumentParser()
p.add_argument("--threads", type=int, default=2)
p.add_argument("--steps", type=int, default=15)
a = p.parse_args()
torch.set_num_threads(a.threads)
torch.manual_seed(0)
B, D, F = 4096, 512, 4096
x = torch.randn(B, D)
W_dec = torch.randn(F, D)
W_dec /= W_dec.norm(dim=1, keepdim=True)
W_dec = torch.nn.Parameter(W_dec)
W_enc = torch.nn.Parameter(W_dec.detach().T.clone())
b_enc = torch.nn.Parameter(torch.zeros(F))
b_dec = torch.nn.Parameter(torch.zeros(D))
opt = torch.optim.AdamW([W_enc, b_enc, W_dec, b_dec], lr=1e-4, weight_decay=0.0)


def step():
    pre = (x - b_dec) @ W_enc + b_enc
    f = torch.relu(pre)
    x_hat = f @ W_dec + b_dec
    loss = (x_hat - x).pow(2).sum(-1).mean() + 5.0 * (f * W_dec.norm(dim=1)).sum(-1).mean()
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    with torch.no_grad():
        W_dec.div_(W_dec.norm(dim=1, keepdim=True))
        fired = (f > 0).sum(0)  # dead-latent bookkeeping, as the Rust loop does
    return loss.item(), fired


for _ in range(3):
    step()
times = []
for _ in range(a.steps):
    t = time.perf_counter()
    step()
    times.append(time.perf_counter() - t)

A, Wm = torch.randn(B, D), torch.randn(D, F)
for _ in range(3):
    A @ Wm
mm = []
for _ in range(a.steps):
    t = time.perf_counter()
    A @ Wm
    mm.append(time.perf_counter() - t)
flops = 2 * B * D * F
print(json.dumps({
    "torch_version": torch.__version__,
    "threads": torch.get_num_threads(),
    "step_median_s": statistics.median(times),
    "matmul_median_s": statistics.median(mm),
    "matmul_gflops": flops / statistics.median(mm) / 1e9,
    "step_gemm_gflop": 6 * flops / 1e9,
}))

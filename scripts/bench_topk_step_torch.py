#!/usr/bin/env python3
"""PyTorch CPU twin of `cargo bench -p rdpbench-sae-topk --bench train_step`, written
as SAELens 6 trains a TopK SAE (`TopKTrainingSAE`, dense decode).

One step: hidden_pre = (x - b_dec) W_enc + b_enc; feature_acts = relu(topk(hidden_pre, k))
scattered into a dense [batch, d_sae] tensor; x_hat = feature_acts W_dec + b_dec;
loss = E||x - x_hat||^2 (+ the AuxK term on dead latents when any are dead:
the top-k_aux hidden_pre over dead latents, k_aux = d_in / 2, decoded without bias,
against the detached residual, weighted min(n_dead / k_aux, 1) * aux_coefficient);
backward; AdamW; decoder rows renormalised; firing counts for the dead-latent bookkeeping.

Prints JSON: median step seconds at each shape, on `--threads` threads.
`--dead F` marks a fraction F of the latents dead (0: none, as the Rust bench).
"""
import argparse, json, statistics, time

import torch

p = argparse.ArgumentParser()
p.add_argument("--threads", type=int, default=2)
p.add_argument("--steps", type=int, default=20)
p.add_argument("--batch", type=int, default=1024)
p.add_argument("--d-in", type=int, default=576)
p.add_argument("--d-sae", type=int, default=2304)
p.add_argument("--k", type=int, nargs="+", default=[32])
p.add_argument("--dead", type=float, default=0.0)
a = p.parse_args()
torch.set_num_threads(a.threads)
torch.manual_seed(0)
B, D, F = a.batch, a.d_in, a.d_sae
x = torch.randn(B, D)


def session(k):
    W_dec = torch.randn(F, D)
    W_dec /= W_dec.norm(dim=1, keepdim=True)
    W_dec = torch.nn.Parameter(W_dec)
    W_enc = torch.nn.Parameter(W_dec.detach().T.clone())
    b_enc = torch.nn.Parameter(torch.zeros(F))
    b_dec = torch.nn.Parameter(torch.zeros(D))
    opt = torch.optim.AdamW([W_enc, b_enc, W_dec, b_dec], lr=1e-3, weight_decay=0.0)
    dead = torch.zeros(F, dtype=torch.bool)
    dead[: int(a.dead * F)] = True
    k_aux = D // 2

    def step():
        hidden_pre = (x - b_dec) @ W_enc + b_enc
        top = torch.topk(hidden_pre, k, dim=-1)
        feature_acts = torch.zeros_like(hidden_pre).scatter(-1, top.indices, torch.relu(top.values))
        x_hat = feature_acts @ W_dec + b_dec
        loss = (x_hat - x).pow(2).sum(-1).mean()
        n_dead = int(dead.sum())
        if n_dead > 0:
            scale = min(n_dead / k_aux, 1.0) * (1.0 / 32.0)
            ka = min(k_aux, n_dead)
            residual = (x - x_hat).detach()
            latents = torch.where(dead[None], hidden_pre, -torch.inf)
            aux_top = latents.topk(ka, sorted=False)
            aux_acts = torch.zeros_like(hidden_pre).scatter(-1, aux_top.indices, aux_top.values)
            loss = loss + scale * (aux_acts @ W_dec - residual).pow(2).sum(-1).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        with torch.no_grad():
            W_dec.div_(W_dec.norm(dim=1, keepdim=True))
            fired = (feature_acts > 0).sum(0)
        return loss.item(), fired

    return step


out = {"torch_version": torch.__version__, "threads": torch.get_num_threads(), "steps": {}}
for k in a.k:
    step = session(k)
    for _ in range(3):
        step()
    times = []
    for _ in range(a.steps):
        t = time.perf_counter()
        step()
        times.append(time.perf_counter() - t)
    out["steps"][f"topk_b{B}_din{D}_dsae{F}_k{k}"] = statistics.median(times)
print(json.dumps(out))

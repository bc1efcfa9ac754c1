#!/usr/bin/env python3
"""PyTorch CPU twin of `cargo bench -p rdpbench-sae-topk --bench train_step`, written
as SAELens 6 trains TopK, BatchTopK and Matryoshka BatchTopK SAEs (`TopKTrainingSAE`,
`BatchTopKTrainingSAE`, `MatryoshkaBatchTopKTrainingSAE`; dense decode).

One step: hidden_pre = (x - b_dec) W_enc + b_enc; then
  topk:        feature_acts = relu(topk(hidden_pre, k)) per row, scattered into a dense
               [batch, d_sae] tensor;
  batchtopk:   the int(k * batch) largest entries of relu(hidden_pre) over the whole
               flattened batch, scattered back; the running threshold (SAELens'
               `topk_threshold`) moves toward the smallest positive selected value;
  matryoshka:  as batchtopk, plus one inner MSE per nested width m_1 < ... < m_P < d_sae
               (default d_sae/8, d_sae/4, d_sae/2, as `rdpbench`), each decoded
               cumulatively as SAELens' `_iterable_decode` does;
x_hat = feature_acts W_dec + b_dec; loss = E||x - x_hat||^2 (+ the AuxK term on dead
latents when any are dead: the top-k_aux hidden_pre over dead latents, k_aux = d_in / 2,
decoded without bias, against the detached residual, weighted
min(n_dead / k_aux, 1) * aux_coefficient); backward; AdamW; decoder rows renormalised;
firing counts for the dead-latent bookkeeping.

Prints JSON: median step seconds per architecture and k, on `--threads` threads, keyed
as the Rust bench names its functions (`{arch}_b{batch}_din{d_in}_dsae{d_sae}_k{k}`).
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
p.add_argument("--arch", nargs="+", default=["topk"], choices=["topk", "batchtopk", "matryoshka"])
p.add_argument("--dead", type=float, default=0.0)
a = p.parse_args()
torch.set_num_threads(a.threads)
torch.manual_seed(0)
B, D, F = a.batch, a.d_in, a.d_sae
x = torch.randn(B, D)
WIDTHS = [F // 8, F // 4, F // 2]  # inner Matryoshka levels; the outer one is d_sae


def session(arch, k):
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
    threshold = torch.tensor(0.0, dtype=torch.double)

    def activation(hidden_pre):
        nonlocal threshold
        if arch == "topk":
            top = torch.topk(hidden_pre, k, dim=-1)
            return torch.zeros_like(hidden_pre).scatter(-1, top.indices, torch.relu(top.values))
        flat = hidden_pre.relu().flatten()
        top = torch.topk(flat, int(k * B), dim=-1)
        acts = torch.zeros_like(flat).scatter(-1, top.indices, top.values).reshape(hidden_pre.shape)
        with torch.no_grad():
            positive = acts > 0
            if positive.any():
                threshold = 0.99 * threshold + 0.01 * acts[positive].min().double()
        return acts

    def step():
        hidden_pre = (x - b_dec) @ W_enc + b_enc
        feature_acts = activation(hidden_pre)
        x_hat = feature_acts @ W_dec + b_dec
        loss = (x_hat - x).pow(2).sum(-1).mean()
        if arch == "matryoshka":
            decoded, prev = b_dec, 0
            for width in WIDTHS:
                decoded = feature_acts[:, prev:width] @ W_dec[prev:width] + decoded
                loss = loss + (decoded - x).pow(2).sum(-1).mean()
                prev = width
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
for arch in a.arch:
    for k in a.k:
        step = session(arch, k)
        for _ in range(3):
            step()
        times = []
        for _ in range(a.steps):
            t = time.perf_counter()
            step()
            times.append(time.perf_counter() - t)
        out["steps"][f"{arch}_b{B}_din{D}_dsae{F}_k{k}"] = statistics.median(times)
print(json.dumps(out))

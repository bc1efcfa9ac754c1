#!/usr/bin/env python3
"""Side by side: `rdpbench eval --no-metrics` vs SAELens 6.54.12's encode +
decode + core numbers (`sae_lens.evals.get_sparsity_and_variance_metrics`) on
CPU, same SAE, same activations, same thread count.

Workload (the issue's): a TopK SAE, d_in 512, d_sae 16384, k 64, seeded
random weights, written by SAELens's own `save_model`; 100k tokens of seeded
Gaussian activations with a mean offset. Both sides get THREADS threads
(torch.set_num_threads; RAYON_NUM_THREADS for rdpbench). Prints each side's
wall time (median of REPEATS), the ratio, and both sides' L0 / MSE /
explained variance.

    /work/venv-saelens/bin/python scripts/eval-vs-saelens.py \
        [--rdpbench target/release/rdpbench] [--tokens 100000] [--threads 2] [--repeats 3]

Needs a release build (`cargo build --release --workspace`) and the venv of
scripts/saelens-fixtures.py. Scratch files go to a temporary folder.
"""

import argparse
import json
import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

import sae_lens
from sae_lens import evals
from sae_lens.saes import TopKSAE, TopKSAEConfig
from sae_lens.training.activation_scaler import ActivationScaler

D_IN, D_SAE, K = 512, 16384, 64
HOOK = "blocks.0.hook_resid_pre"
CONTEXT = 128


class StubModel:
    def __init__(self, acts):
        self.acts = acts

    def run_with_cache(self, batch_tokens, **_kwargs):
        return None, {HOOK: self.acts[batch_tokens]}


class StubStore:
    def __init__(self):
        self.next = 0

    def get_batch_tokens(self, n_prompts):
        idx = torch.arange(self.next, self.next + n_prompts * CONTEXT)
        self.next += n_prompts * CONTEXT
        return idx.reshape(n_prompts, CONTEXT)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rdpbench", default="target/release/rdpbench")
    ap.add_argument("--tokens", type=int, default=100_000)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    assert args.tokens % (32 * CONTEXT) == 0 or True
    torch.set_num_threads(args.threads)
    gen = torch.Generator().manual_seed(7)
    tmp = Path(tempfile.mkdtemp(prefix="rdpbench-eval-speed-"))
    sae = TopKSAE(TopKSAEConfig(d_in=D_IN, d_sae=D_SAE, k=K))
    sae.cfg.metadata.hook_name = HOOK
    with torch.no_grad():
        for p in sae.parameters():
            p.copy_(0.05 * torch.randn(p.shape, generator=gen))
    folder = tmp / "topk"
    sae.save_model(folder)
    n = args.tokens
    acts = (torch.linspace(-1, 1, D_IN) + torch.randn(n, D_IN, generator=gen)).float()
    np.save(tmp / "acts.npy", acts.numpy())

    # SAELens: batches of 32 prompts x 128 tokens (4096 tokens), as its evals.
    prompts = 32
    batch = prompts * CONTEXT
    n_batches = n // batch
    n_used = n_batches * batch
    loaded = sae_lens.SAE.load_from_disk(str(folder))
    times = []
    for _ in range(args.repeats):
        t = time.perf_counter()
        with torch.no_grad():
            m, _ = evals.get_sparsity_and_variance_metrics(
                sae=loaded,
                model=StubModel(acts),
                activation_store=StubStore(),
                activation_scaler=ActivationScaler(),
                n_batches=n_batches,
                compute_l2_norms=True,
                compute_sparsity_metrics=True,
                compute_variance_metrics=True,
                compute_featurewise_density_statistics=True,
                eval_batch_size_prompts=prompts,
                model_kwargs={},
                ignore_tokens=None,
            )
        times.append(time.perf_counter() - t)
    saelens_s = statistics.median(times)

    # rdpbench on the same tokens (the first n_used rows).
    np.save(tmp / "acts_used.npy", acts[:n_used].numpy())
    env = dict(os.environ, RAYON_NUM_THREADS=str(args.threads))
    rtimes = []
    for r in range(args.repeats):
        out = tmp / f"out{r}"
        t = time.perf_counter()
        subprocess.run(
            [args.rdpbench, "eval", "--sae", str(folder), "--activations", str(tmp / "acts_used.npy"),
             "--no-metrics", "--batch-tokens", str(batch), "--out", str(out), "--json"],
            check=True, env=env, stdout=subprocess.DEVNULL,
        )
        rtimes.append(time.perf_counter() - t)
    rdp_s = statistics.median(rtimes)
    ours = json.loads((tmp / "out0" / "eval.json").read_text())["saes"][0]
    print(f"workload: TopK d_in {D_IN} d_sae {D_SAE} k {K}, {n_used} tokens, {args.threads} threads, "
          f"sae-lens {sae_lens.__version__}, torch {torch.__version__}")
    print(f"SAELens  median {saelens_s:8.2f} s  ({', '.join(f'{t:.2f}' for t in times)})")
    print(f"rdpbench median {rdp_s:8.2f} s  ({', '.join(f'{t:.2f}' for t in rtimes)})")
    print(f"ratio SAELens / rdpbench: {saelens_s / rdp_s:.2f}x")
    for k in ["l0", "mse", "explained_variance"]:
        print(f"  {k:20s} SAELens {m[k]:.6f}  rdpbench {ours[k]:.6f}")


if __name__ == "__main__":
    main()

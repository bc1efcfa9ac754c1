#!/usr/bin/env bash
# Side-by-side: one ReLU-SAE training step (batch 4096, d_in 512, d_sae 4096,
# AdamW) in rdpbench (candle, criterion bench) and in PyTorch CPU, both on the
# same number of threads (default 2), plus each one's matmul rate.
#
#   scripts/bench-train-step.sh [PYTHON]
#
# PYTHON must have torch (`python3 -m venv /tmp/torchvenv && /tmp/torchvenv/bin/pip install torch`,
# PyPI's default index). Prints the rdpbench/PyTorch speed ratio and each
# step's GEMM rate as a fraction of the machine's measured matmul peak (the
# faster of candle's and PyTorch's [4096,512]x[512,4096] matmul).
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${1:-python3}"
THREADS="${RAYON_NUM_THREADS:-2}"
export RAYON_NUM_THREADS="$THREADS"
cargo bench -p rdpbench-sae-relu --bench train_step -- --noplot >&2
torch_json="$("$PY" scripts/bench_train_step_torch.py --threads "$THREADS")"
python3 - "$torch_json" "${CARGO_TARGET_DIR:-target}/criterion" <<'PY'
import json, sys
t = json.loads(sys.argv[1])
est = lambda p: json.load(open(f"{sys.argv[2]}/{p}/new/estimates.json"))["median"]["point_estimate"] / 1e9
step, mm = est("sae_train_step/relu_b4096_din512_dsae4096"), est("matmul/candle_4096x512x4096")
flops = 2 * 4096 * 512 * 4096
print(f"rdpbench step (median)   {step:.3f} s")
print(f"PyTorch step (median)    {t['step_median_s']:.3f} s  (torch {t['torch_version']}, {t['threads']} threads)")
print(f"speed-up over PyTorch    {t['step_median_s'] / step:.2f}x")
peak = max(flops / mm, t["matmul_gflops"] * 1e9)
print(f"candle matmul            {flops / mm / 1e9:.0f} GFLOP/s   (PyTorch matmul {t['matmul_gflops']:.0f} GFLOP/s; peak = the faster)")
# rdpbench runs 5 GEMMs per step (no gradient for the data x), PyTorch 6.
print(f"rdpbench step GEMM rate  {5 * flops / step / 1e9:.0f} GFLOP/s = {5 * flops / step / peak:.0%} of the measured matmul peak")
print(f"PyTorch step GEMM rate   {6 * flops / t['step_median_s'] / 1e9:.0f} GFLOP/s = {6 * flops / t['step_median_s'] / peak:.0%} of the measured matmul peak")
PY

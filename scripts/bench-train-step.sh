#!/usr/bin/env bash
# Side-by-side: one ReLU-SAE training step (batch 4096, d_in 512, d_sae 4096,
# AdamW) in rdpbench (candle, criterion bench) and in PyTorch CPU, both on the
# same number of threads (default 2), plus each one's matmul rate.
#
#   scripts/bench-train-step.sh [PYTHON]
#
# PYTHON must have torch (`python3 -m venv /tmp/torchvenv && /tmp/torchvenv/bin/pip install torch`,
# PyPI's default index). Prints the rdpbench/PyTorch speed ratio and the GEMM
# rate of the step as a fraction of the measured candle matmul peak.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${1:-python3}"
THREADS="${RAYON_NUM_THREADS:-2}"
export RAYON_NUM_THREADS="$THREADS"
cargo bench -p rdpbench --bench sae_train_step -- --noplot >&2
torch_json="$("$PY" scripts/bench_train_step_torch.py --threads "$THREADS")"
python3 - "$torch_json" <<'PY'
import json, sys
t = json.loads(sys.argv[1])
est = lambda p: json.load(open(f"target/criterion/{p}/new/estimates.json"))["median"]["point_estimate"] / 1e9
step, mm = est("sae_train_step/relu_b4096_din512_dsae4096"), est("matmul/candle_4096x512x4096")
flops = 2 * 4096 * 512 * 4096
print(f"rdpbench step (median)   {step:.3f} s")
print(f"PyTorch step (median)    {t['step_median_s']:.3f} s  (torch {t['torch_version']}, {t['threads']} threads)")
print(f"speed-up over PyTorch    {t['step_median_s'] / step:.2f}x")
print(f"candle matmul peak       {flops / mm / 1e9:.0f} GFLOP/s   (PyTorch matmul {t['matmul_gflops']:.0f} GFLOP/s)")
print(f"step GEMM rate           {6 * flops / step / 1e9:.0f} GFLOP/s = {6 * flops / step / (flops / mm):.0%} of the candle matmul peak")
PY

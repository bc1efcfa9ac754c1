#!/usr/bin/env bash
# Side-by-side: one training step of TopK, BatchTopK and Matryoshka BatchTopK
# SAEs (batch 1024, d_in 576, d_sae 2304, k = 32 and 8: the shape `rdpbench
# real` trains on SmolLM2-135M; AdamW, decoder renorm, dead-latent
# bookkeeping) in rdpbench (criterion bench: the hand-written step and the
# autograd reference) and in a PyTorch twin written as SAELens trains (dense
# decode), on the same number of threads (default 2).
#
#   scripts/bench-topk-step.sh [PYTHON]
#
# PYTHON must have torch (`python3 -m venv /tmp/torchvenv && /tmp/torchvenv/bin/pip install torch`).
# Prints each step's median and the speed-up over PyTorch.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${1:-python3}"
THREADS="${RAYON_NUM_THREADS:-2}"
export RAYON_NUM_THREADS="$THREADS"
cargo bench -p rdpbench-sae-topk -p rdpbench-sae-batchtopk -p rdpbench-sae-matryoshka --bench train_step -- --noplot 'sae_train_step|matmul' >&2
torch_json="$("$PY" scripts/bench_topk_step_torch.py --threads "$THREADS" --k 32 8 --arch topk batchtopk matryoshka)"
python3 - "$torch_json" "${CARGO_TARGET_DIR:-target}/criterion" <<'PY'
import json, sys
t = json.loads(sys.argv[1])
est = lambda p: json.load(open(f"{sys.argv[2]}/{p}/new/estimates.json"))["median"]["point_estimate"] / 1e9
mm = est("matmul/candle_1024x576x2304")
print(f"PyTorch {t['torch_version']}, {t['threads']} threads; encoder GEMM alone (candle) {mm * 1e3:.1f} ms")
print(f"{'shape':<40} {'rdpbench':>10} {'reference':>10} {'PyTorch':>10} {'vs PyTorch':>11} {'vs reference':>13}")
for name, torch_s in t["steps"].items():
    fused, ref = est(f"sae_train_step/{name}"), est(f"sae_train_step/{name}_reference")
    print(f"{name:<40} {fused * 1e3:>8.1f}ms {ref * 1e3:>8.1f}ms {torch_s * 1e3:>8.1f}ms {torch_s / fused:>10.2f}x {ref / fused:>12.2f}x")
PY

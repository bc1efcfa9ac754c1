#!/usr/bin/env bash
# Train SAEs on a GPU machine with the `cuda` plugin build, and record the numbers.
#
# The GPU machine has a CUDA driver and PyTorch (whose nvidia-* wheels carry
# libcudart/libcublas/libcurand) but no Rust toolchain, so everything is built
# here and carried over:
#
#   CARGO_TARGET_DIR=target/cuda scripts/cuda-setup.sh   # the six plugins with `cuda`
#   cargo build --release -p rdpbench                      # the (CPU) host
#   scripts/gpu-train-check.sh pack                        # -> target/gpu-pack (about 40 MB, xz)
#   # on the GPU machine, from the repository root, with target/gpu-pack carried:
#   scripts/gpu-train-check.sh run [cuda|cpu]              # -> $OUT or target/gpu-check
#
# `run` trains a TopK and a ReLU SAE (d_sae 1024, batch 4096) on a toy model
# with 256 concepts in 128 dimensions, prints the wall time of each device's
# run, and keeps train.json (held-out EV, MSE, L0, MCC, P_gt per SAE) per device.
# The wall time includes the host-side (CPU) ground-truth scoring of each SAE,
# which takes minutes for a barely trained SAE (STEPS=20 did not finish in 5
# minutes on the 2-core dev machine): compare devices at the default STEPS.
# Tested here only in `cpu` mode with a stub libcuda.so.1 (loading and listing
# the cuda plugins works); never run on a GPU yet.
# Environment: STEPS (default 1000), OUT (results folder).
set -euo pipefail
cd "$(dirname "$0")/.."
PACK=target/gpu-pack
PLUGINS=(relu topk batchtopk jumprelu gated matryoshka)

pack() {
    rm -rf "$PACK" && mkdir -p "$PACK"
    strip -o "$PACK/rdpbench" target/release/rdpbench
    for p in "${PLUGINS[@]}"; do
        strip -o "$PACK/librdpbench_sae_$p.so" "target/cuda/release/librdpbench_sae_$p.so"
    done
    xz -T0 -6 "$PACK"/*
    du -sh "$PACK"
}

# Folders holding the CUDA runtime libraries the plugins need (NEEDED:
# libcudart.so.13, libcublas.so.13, libcurand.so.10; libcuda.so.1 from the driver).
cuda_lib_path() {
    local dirs=()
    local py
    for py in python3 python; do
        command -v "$py" >/dev/null || continue
        local site
        site="$("$py" -c 'import site; print(" ".join(site.getsitepackages()))' 2>/dev/null)" || continue
        local s
        for s in $site; do
            while IFS= read -r d; do dirs+=("$d"); done < <(find "$s/nvidia" -maxdepth 3 -type d -name lib 2>/dev/null)
        done
        break
    done
    [[ -d /usr/local/cuda/lib64 ]] && dirs+=(/usr/local/cuda/lib64)
    local IFS=:
    echo "${dirs[*]}"
}

run() {
    local device="${1:-cuda}"
    local steps="${STEPS:-1000}"
    local out="${OUT:-target/gpu-check}"
    local bin="$out/bin"
    mkdir -p "$bin"
    for f in "$PACK"/*.xz; do
        local name
        name="$(basename "$f" .xz)"
        [[ -e "$bin/$name" ]] || xz -dc "$f" > "$bin/$name"
    done
    chmod +x "$bin/rdpbench"
    export LD_LIBRARY_PATH="$(cuda_lib_path):${LD_LIBRARY_PATH:-}"
    cat > "$out/gpu.toml" <<EOF
[plugins]
paths = ["bin"]
build_dir = false

[toy]
n_concepts = 256
d = 128

[train]
architectures = ["topk", "relu"]
widths = [1024]
k = [32.0]
l1_coefficient = [0.3]
steps = $steps
batch_size = 4096
eval_every = 0
eval_samples = 2048

[train.hyperparameters]
device = "$device"
EOF
    command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
    "$bin/rdpbench" --config "$out/gpu.toml" plugins list
    local t0 t1
    t0=$(date +%s.%N)
    "$bin/rdpbench" --config "$out/gpu.toml" train --out "$out/saes-$device" --json > "$out/train-$device.json"
    t1=$(date +%s.%N)
    printf 'gpu-train-check: device %s, %s steps x 2 SAEs: %.1f s wall\n' "$device" "$steps" "$(echo "$t1 - $t0" | bc)"
    python3 - "$out/train-$device.json" <<'EOF' || cat "$out/train-$device.json"
import json, sys
s = json.load(open(sys.argv[1]))
for job in s.get("jobs", s.get("outcomes", [])):
    print(json.dumps(job)[:400])
EOF
}

case "${1:-}" in
    pack) pack ;;
    run) shift; run "$@" ;;
    *) echo "usage: $0 pack | run [cuda|cpu]" >&2; exit 2 ;;
esac

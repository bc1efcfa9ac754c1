#!/usr/bin/env bash
# CUDA build of the SAE plugins (the `cuda` cargo feature), following
# shared/DESIGN.md: CUDA 13 toolchain from PyPI wheels, CUDA_COMPUTE_CAP=90
# (H100/H200), a link-time stub libcuda.so (the driver supplies the real one
# at run time). Never part of the default or CI build.
#
#   scripts/cuda-setup.sh            # set up the toolkit, then build
#   scripts/cuda-setup.sh --env      # only print the environment to `eval`
#
# The host needs no CUDA build: the regular `rdpbench` loads these plugins from
# target/cuda/release (a config with `[plugins] paths = ["target/cuda/release"]`,
# `build_dir = false`); train on the GPU with `[train.hyperparameters]
# device = "cuda"`. scripts/gpu-train-check.sh packs and runs that on a GPU machine.
# Pin the wheel versions to the GPU machine's driver (CUDA 13.0 here).
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${RDPBENCH_CUDA_VENV:-$PWD/target/cuda-toolkit/venv}"
ROOT="${RDPBENCH_CUDA_ROOT:-$PWD/target/cuda-toolkit/root}"
CAP="${CUDA_COMPUTE_CAP:-90}"

if [[ "${1:-}" != "--env" ]]; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q \
        "nvidia-cuda-nvcc>=13.0,<13.1" "nvidia-nvvm>=13.0,<13.1" "nvidia-cuda-crt>=13.0,<13.1" \
        "nvidia-cuda-runtime>=13.0,<13.1" "nvidia-cuda-cccl>=13.0,<13.1" "nvidia-cuda-nvrtc>=13.0,<13.1" \
        "nvidia-cublas>=13.0,<13.1" "nvidia-curand"
    # Merge the wheels' bin/include/lib folders into one CUDA_ROOT.
    rm -rf "$ROOT" && mkdir -p "$ROOT/bin" "$ROOT/include" "$ROOT/lib64/stubs" "$ROOT/nvvm"
    SITE="$("$VENV/bin/python" -c 'import site; print(site.getsitepackages()[0])')/nvidia"
    for d in $(find "$SITE" -maxdepth 3 -type d \( -name bin -o -name include -o -name lib -o -name nvvm \)); do
        case "$(basename "$d")" in
            bin) cp -rs "$d"/. "$ROOT/bin/" ;;
            include) cp -rs "$d"/. "$ROOT/include/" ;;
            lib) cp -rs "$d"/. "$ROOT/lib64/" ;;
            nvvm) cp -rs "$d"/. "$ROOT/nvvm/" ;;
        esac
    done
    # Unversioned names the linker looks for.
    for f in "$ROOT"/lib64/lib*.so.*; do
        base="${f%%.so.*}.so"; [[ -e "$base" ]] || ln -s "$f" "$base"
    done
    # Link-time stub for the driver library (the wheels ship none): one empty
    # function per driver-API entry point declared in cuda.h, with the driver's
    # soname, so the plugins record NEEDED libcuda.so.1 and the GPU machine's
    # driver resolves the symbols when a plugin is loaded. (A stub without the
    # symbols links too, but --as-needed then drops it and loading fails with
    # `undefined symbol: cuInit`.)
    cc -E -I "$ROOT/include" "$ROOT/include/cuda.h" \
        | grep -oE '\bcu[A-Z][A-Za-z0-9_]*[[:space:]]*\(' | sed 's/[[:space:]]*($//' | sort -u \
        | sed 's/.*/void &(void) {}/' \
        | cc -shared -fPIC -x c -Wl,-soname,libcuda.so.1 -o "$ROOT/lib64/stubs/libcuda.so" -
fi

# cudarc spells CUDA 13.0 as `13000` (major, 0, minor, 0).
NVCC_VERSION="$("$ROOT/bin/nvcc" --version | sed -n 's/.*release \([0-9]*\)\.\([0-9]*\).*/\10\20/p')"
ENV="export CUDA_ROOT=$ROOT CUDA_PATH=$ROOT CUDA_TOOLKIT_ROOT_DIR=$ROOT CUDA_COMPUTE_CAP=$CAP \
PATH=$ROOT/bin:\$PATH LIBRARY_PATH=$ROOT/lib64:$ROOT/lib64/stubs \
LD_LIBRARY_PATH=$ROOT/lib64:\${LD_LIBRARY_PATH:-} CUDARC_CUDA_VERSION=${NVCC_VERSION}"
if [[ "${1:-}" == "--env" ]]; then echo "$ENV"; exit 0; fi
eval "$ENV"
cargo build --release \
    -p rdpbench-sae-relu -p rdpbench-sae-topk -p rdpbench-sae-batchtopk \
    -p rdpbench-sae-jumprelu -p rdpbench-sae-gated -p rdpbench-sae-matryoshka \
    --features rdpbench-sae-relu/cuda,rdpbench-sae-topk/cuda,rdpbench-sae-batchtopk/cuda,rdpbench-sae-jumprelu/cuda,rdpbench-sae-gated/cuda,rdpbench-sae-matryoshka/cuda

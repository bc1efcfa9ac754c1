#!/usr/bin/env bash
# Extraction forward vs llama.cpp, side by side in one run, on the same GGUF file
# (SmolLM2-135M-Instruct Q4_1 from scripts/fetch-real-data.sh), the same token windows
# and the same thread count (issue #21).
#
#   scripts/bench-extraction.sh
#
# 1. `rdpbench lm bench-forward` packs Brown text into windows of SEQ_LEN tokens, writes
#    their ids, and times rdpbench's extraction forward (`lm extract`'s path: batches
#    of BATCH windows, the forward stopping after the requested block) twice:
#    through all 30 blocks (LAYER 29: the same work as a prompt evaluation) and
#    through block 15 (`lm extract`'s default layer), each with a breakdown by part.
# 2. llama.cpp (llama-cpp-python==0.3.36 from PyPI, built from source in $LLAMA_VENV)
#    evaluates the same windows, one window per ubatch, from an empty KV cache each.
#
#    If llama-cpp-python is not importable and PEER=auto (the default), the peer is
#    the PyTorch fallback instead (scripts/bench_extraction_torch.py: the same forward
#    over the same weights dequantized to f32, in $TORCH_PYTHON), and the output says
#    so; PEER=llama-cpp builds llama-cpp-python first (about 80 C/C++ files; minutes on
#    an idle machine), PEER=torch always uses the fallback.
# 3. With BASELINE_BIN=path/to/an/older/rdpbench, that binary's forward is timed too, in
#    the same run (before/after a change).
#
# Prints tokens/s for each and the ratio rdpbench / peer (all 30 blocks both).
# Environment: RDPBENCH_REAL_DATA (data folder), THREADS (2), SEQ_LEN (128),
# BATCH (8), WINDOWS (32), REPEATS (3), PROFILE (release; `dev` reuses the test
# build, whose dependencies (candle, gemm) are built at opt-level 3 too),
# RDPBENCH_BIN (a built rdpbench to time instead of building one),
# LLAMA_VENV (/tmp/llamavenv: a venv with llama-cpp-python), PEER (auto), TORCH_PYTHON
# (/tmp/torchvenv/bin/python: a Python with torch and numpy), BASELINE_BIN (unset).
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"
data="${RDPBENCH_REAL_DATA:-$repo_root/target/real-data}"
gguf="$data/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
threads="${THREADS:-2}"
seq_len="${SEQ_LEN:-128}"
batch="${BATCH:-8}"
windows="${WINDOWS:-32}"
repeats="${REPEATS:-3}"
profile="${PROFILE:-release}"
venv="${LLAMA_VENV:-/tmp/llamavenv}"
peer="${PEER:-auto}"
torch_python="${TORCH_PYTHON:-/tmp/torchvenv/bin/python}"
llama_cpp_version="0.3.36"

[[ -f "$gguf" ]] || { echo "bench-extraction: $gguf missing; run scripts/fetch-real-data.sh" >&2; exit 2; }

have_llama_cpp() { [[ -x "$venv/bin/python" ]] && "$venv/bin/python" -c "import llama_cpp" 2>/dev/null; }
if [[ "$peer" == auto ]]; then
    if have_llama_cpp; then peer=llama-cpp; else
        echo "bench-extraction: llama-cpp-python is not importable from $venv; peer = PyTorch fallback (PEER=llama-cpp builds it)" >&2
        peer=torch
    fi
fi
if [[ "$peer" == llama-cpp ]] && ! have_llama_cpp; then
    echo "bench-extraction: building llama-cpp-python==$llama_cpp_version into $venv (minutes)" >&2
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q --disable-pip-version-check cmake ninja scikit-build-core numpy typing-extensions diskcache jinja2
    # (Restricting the build to the `llama` target breaks the wheel's install step,
    # which also installs libllama-common; the tools, examples and tests are off.)
    PATH="$venv/bin:$PATH" CMAKE_ARGS="-DGGML_NATIVE=ON -DLLAVA_BUILD=OFF -DLLAMA_CURL=OFF -DGGML_OPENMP=ON \
        -DLLAMA_BUILD_TOOLS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_SERVER=OFF" \
        "$venv/bin/pip" install -q --disable-pip-version-check --no-build-isolation \
        -C build-dir="$venv/build" "llama-cpp-python==$llama_cpp_version"
fi

if [[ -n "${RDPBENCH_BIN:-}" ]]; then
    bin="$RDPBENCH_BIN"
elif [[ "$profile" == release ]]; then
    cargo build -q -p rdpbench --release
    bin="$repo_root/target/release/rdpbench"
else
    cargo build -q -p rdpbench
    bin="$repo_root/target/debug/rdpbench"
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
export RDPBENCH_REAL_DATA="$data" RAYON_NUM_THREADS="$threads"

echo "== $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, load: $(cut -d' ' -f1-3 /proc/loadavg), $bin"
run_rdpbench() {
    "$bin" lm bench-forward --model "$gguf" --seq-len "$seq_len" --batch "$batch" \
        --windows "$windows" --repeats "$repeats" --layer "$1" --json ${2:+--dump-windows "$2"}
}
run_rdpbench 29 "$work/windows.json" > "$work/rdp29.json"
run_rdpbench 15 > "$work/rdp15.json"
if [[ -n "${BASELINE_BIN:-}" ]]; then
    bin="$BASELINE_BIN" run_rdpbench 15 > "$work/base15.json"
else
    echo '{}' > "$work/base15.json"
fi
if [[ "$peer" == llama-cpp ]]; then
    "$venv/bin/python" scripts/bench_extraction_llamacpp.py "$gguf" "$work/windows.json" "$threads" "$repeats" > "$work/peer.json"
else
    "$torch_python" scripts/bench_extraction_torch.py "$gguf" "$work/windows.json" "$threads" "$repeats" "$batch" 29 > "$work/peer.json"
fi
echo "== load after: $(cut -d' ' -f1-3 /proc/loadavg)"

python3 - "$work/rdp29.json" "$work/rdp15.json" "$work/peer.json" "$work/base15.json" <<'PY'
import json, sys
r29, r15, ll, base = (json.load(open(p)) for p in sys.argv[1:5])
print(f"windows: {ll['windows']} x {ll['seq_len']} tokens of Brown text, {ll['threads']} threads, median of {len(ll['repeat_seconds'])} repeats")
if "llama_cpp_python" in ll:
    name = "llama.cpp"
    print(f"llama.cpp (llama-cpp-python {ll['llama_cpp_python']}), 30 blocks, one window per ubatch: "
          f"{ll['tokens_per_second']:8.1f} tokens/s  (repeats {', '.join(f'{s:.3f}' for s in ll['repeat_seconds'])} s)")
else:
    name = "PyTorch"
    print(f"PyTorch {ll['torch']} fallback (llama-cpp-python not built), same weights dequantized to f32, "
          f"{ll['blocks_run']} blocks, batch {ll['batch']}: {ll['tokens_per_second']:8.1f} tokens/s  "
          f"(repeats {', '.join(f'{s:.3f}' for s in ll['repeat_seconds'])} s)")
rows = [r29, r15] + ([base] if base else [])
for r, label in zip(rows, ["rdpbench forward", "rdpbench forward", "BASELINE_BIN forward"]):
    print(f"{label}, blocks 0..={r['layer']} ({r['blocks_run']}), batch {r['batch']}:       "
          f"{r['tokens_per_second']:8.1f} tokens/s  (repeats {', '.join(f'{s:.3f}' for s in r['repeat_seconds'])} s)")
print(f"ratio rdpbench / {name}, same 30 blocks: {r29['tokens_per_second'] / ll['tokens_per_second']:.2f}x")
print(f"ratio rdpbench extraction (16 blocks) / {name} (30 blocks): "
      f"{r15['tokens_per_second'] / ll['tokens_per_second']:.2f}x")
if base:
    print(f"ratio rdpbench / BASELINE_BIN, 16 blocks: {r15['tokens_per_second'] / base['tokens_per_second']:.2f}x")
for r in (r29, r15):
    b, tot = r["breakdown_seconds"], r["breakdown_total_seconds"]
    print(f"rdpbench breakdown, blocks 0..={r['layer']} (all repeats, {tot:.3f} s):")
    for k, v in b.items():
        if v > 0:
            print(f"  {k:<16} {v:7.3f} s {100 * v / tot:5.1f}%")
if "system_info" in ll:
    print(f"llama.cpp system info: {ll['system_info'].strip()}")
PY

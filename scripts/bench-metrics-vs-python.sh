#!/usr/bin/env bash
# Side-by-side: every code-based metric plugin vs a scipy.sparse implementation
# of the same formula, and mean max decoder cosine vs SAEBench's chunked torch
# code, on one workload (100k tokens, d_sae 16384, d_in 512, k = 64, 256
# concepts), same thread count on both sides (default 2).
#
#   scripts/bench-metrics-vs-python.sh [PYTHON]
#
# PYTHON must have numpy, scipy and torch; default target/pyvenv/bin/python,
# created from PyPI when missing (`python3 -m venv target/pyvenv &&
# target/pyvenv/bin/pip install numpy scipy torch`). Environment: THREADS
# (default 2), REPS (calls per metric after a warm-up, default 5), METRICS
# (comma-separated ids, default all).
#
# Rust: builds the metric plugins and `metrics-timing` in release, which
# generates the seeded workload, dumps it to target/metrics-bench/*.npy and
# times each plugin through the plugin host (median of REPS calls). Python
# (scripts/bench_metrics_python.py) reads the same .npy files. Prints a table:
# metric, Rust median, Python median, ratio, goal (2x, 3x for the decoder
# cosine), and whether the two values agree (|a-b| <= 1e-6 + 1e-4 max|a|,|b|).
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${1:-target/pyvenv/bin/python}"
THREADS="${THREADS:-2}"
REPS="${REPS:-5}"
METRICS="${METRICS:-}"
export RDPBENCH_THREADS="$THREADS" RAYON_NUM_THREADS="$THREADS" OMP_NUM_THREADS="$THREADS" \
    MKL_NUM_THREADS="$THREADS" OPENBLAS_NUM_THREADS="$THREADS"
if [ ! -x "$PY" ]; then
    python3 -m venv target/pyvenv
    target/pyvenv/bin/pip install numpy scipy torch
    PY=target/pyvenv/bin/python
fi
mapfile -t PKGS < <(sed -n 's/^name = "\(rdpbench-metric-[a-z0-9-]*\)"/\1/p' metrics/*/Cargo.toml)
cargo build --release -p rdpbench-metrics-bench "${PKGS[@]/#/--package=}" >&2
OUT=target/metrics-bench
mkdir -p "$OUT"
ARGS=(--out "$OUT" --reps "$REPS")
[ -n "$METRICS" ] && ARGS+=(--metrics "$METRICS")
target/release/metrics-timing "${ARGS[@]}" >&2
PARGS=(--data "$OUT" --threads "$THREADS" --reps "$REPS")
[ -n "$METRICS" ] && PARGS+=(--metrics "$METRICS")
"$PY" scripts/bench_metrics_python.py "${PARGS[@]}" > "$OUT/python.json"
python3 - "$OUT/rust.json" "$OUT/python.json" <<'PY'
import json, sys
rust = {m["id"]: m for m in json.load(open(sys.argv[1]))["metrics"]}
doc = json.load(open(sys.argv[2]))
print(f"threads {doc['threads']}; numpy {doc['numpy']}, scipy {doc['scipy']}, torch {doc['torch']}")
print(f"| metric | rust median (s) | python median (s) | speed-up | goal | met | values agree |")
print(f"|---|---|---|---|---|---|---|")
bad = False
for p in doc["metrics"]:
    r = rust.get(p["id"])
    if r is None:
        continue
    goal = 3.0 if p["id"] == "mean-max-decoder-cosine" else 2.0
    ratio = p["median_s"] / r["median_s"]
    a, b = r["value"], p["value"]
    agree = (a is None and b is None) or (
        a is not None and b is not None and abs(a - b) <= 1e-6 + 1e-4 * max(abs(a), abs(b)))
    bad |= not agree
    print(f"| {p['id']} | {r['median_s']:.4f} | {p['median_s']:.4f} | {ratio:.1f}x | {goal:.0f}x | "
          f"{'yes' if ratio >= goal else 'NO'} | {'yes' if agree else f'NO ({a} vs {b})'} |")
others = sorted(set(rust) - {p["id"] for p in doc["metrics"]})
for i in others:
    print(f"| {i} (rust only) | {rust[i]['median_s']:.4f} | | | | | |")
sys.exit(1 if bad else 0)
PY

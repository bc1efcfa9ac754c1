#!/usr/bin/env bash
# The cost of a Python metric: per-call overhead of the worker protocol at the
# default check size (python-overhead), then the whole `rdpbench check` of each
# Python twin against its Rust metric, alternated, REPS times each; prints the
# median wall-clock seconds and their ratio, the number of compute calls one
# check makes (counted by a wrapper of the twin), and the overhead's estimated
# share of the Python check's time (calls x per-call overhead / check time).
# Needs python3 with numpy.
#
#   scripts/python-metric-overhead.sh [BUILD_DIR (default target/release)] [REPS (default 3)]
#
# Build first: cargo build --release --workspace (or use target/debug).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-target/release}
reps=${2:-3}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

echo "# per call, default check size (seed 0, monosemantic SAE M)"
"$build/python-overhead" --build-dir "$build" --python-dir python/metrics | tee "$out/per-call.jsonl"

echo "# whole check: rdpbench check --seeds 0,1,2 --no-shrink -j 1, $reps runs each, alternated"
plugins=()
for f in python/metrics/*.py; do plugins+=(--plugin "$f"); done
for pair in mean-firing-density:firing_density label-entropy:label_entropy \
  mean-max-decoder-cosine:decoder_cosine; do
  id=${pair%%:*} file=python/metrics/${pair#*:}.py
  # One more check of a wrapper that counts the twin's compute calls.
  cat > "$out/counted_${pair#*:}.py" <<PY
import atexit, importlib.util
_spec = importlib.util.spec_from_file_location("twin", "$PWD/$file")
_twin = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_twin)
SPEC = dict(_twin.SPEC, id=_twin.SPEC["id"] + "-counted")
CODES = getattr(_twin, "CODES", "csr")
LABELS = getattr(_twin, "LABELS", "csr")
_calls = [0]
def compute(x):
    _calls[0] += 1
    return _twin.compute(x)
atexit.register(lambda: open("$out/calls-$id", "a").write(f"{_calls[0]}\\n"))
PY
  "$build/rdpbench" check --plugin "$out/counted_${pair#*:}.py" --metrics "$id-py-counted" \
    --seeds 0,1,2 --no-shrink -j 1 --out "$out/$id-counted" >/dev/null 2>&1 || true
  times_rust=() times_py=()
  for r in $(seq "$reps"); do
    for which in rust py; do
      metric=$id
      [ "$which" = py ] && metric=$id-py
      start=$(date +%s.%N)
      "$build/rdpbench" check "${plugins[@]}" --metrics "$metric" --seeds 0,1,2 --no-shrink \
        -j 1 --out "$out/$metric-$r" >/dev/null 2>&1 || true
      end=$(date +%s.%N)
      t=$(python3 -c "print($end - $start)")
      if [ "$which" = rust ]; then times_rust+=("$t"); else times_py+=("$t"); fi
    done
  done
  python3 - "$id" "${times_rust[*]}" "${times_py[*]}" "$out" <<'PY'
import json, statistics, sys
metric, out = sys.argv[1], sys.argv[4]
rust = [float(x) for x in sys.argv[2].split()]
py = [float(x) for x in sys.argv[3].split()]
r, p = statistics.median(rust), statistics.median(py)
calls = sum(int(x) for x in open(f"{out}/calls-{metric}").read().split())
per_call = [json.loads(l) for l in open(f"{out}/per-call.jsonl")]
over_ms = next(l["overhead_median_ms"] for l in per_call if l["metric"] == metric)
print(json.dumps({"metric": metric, "check_rust_median_s": round(r, 2),
                  "check_python_median_s": round(p, 2), "python_over_rust": round(p / r, 3),
                  "runs_rust_s": [round(x, 2) for x in rust], "runs_python_s": [round(x, 2) for x in py],
                  "compute_calls_per_check": calls,
                  "overhead_share_of_python_check": round(calls * over_ms / 1e3 / p, 3)}))
PY
done

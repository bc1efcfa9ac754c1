#!/usr/bin/env bash
# The cost of a Python metric: per-call overhead of the worker protocol at the
# default check size (python-overhead), then the whole `rdpbench check` of each
# Python twin against its Rust metric, alternated, REPS times each; prints the
# median wall-clock seconds and their ratio. Needs python3 with numpy.
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
"$build/python-overhead" --build-dir "$build" --python-dir python/metrics

echo "# whole check: rdpbench check --seeds 0,1,2 --no-shrink -j 1, $reps runs each, alternated"
plugins=()
for f in python/metrics/*.py; do plugins+=(--plugin "$f"); done
for id in mean-firing-density label-entropy mean-max-decoder-cosine; do
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
  python3 - "$id" "${times_rust[*]}" "${times_py[*]}" <<'PY'
import json, statistics, sys
rust = [float(x) for x in sys.argv[2].split()]
py = [float(x) for x in sys.argv[3].split()]
r, p = statistics.median(rust), statistics.median(py)
print(json.dumps({"metric": sys.argv[1], "check_rust_median_s": round(r, 2),
                  "check_python_median_s": round(p, 2), "python_over_rust": round(p / r, 3),
                  "runs_rust_s": [round(x, 2) for x in rust], "runs_python_s": [round(x, 2) for x in py]}))
PY
done

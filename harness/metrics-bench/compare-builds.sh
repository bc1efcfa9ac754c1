#!/usr/bin/env bash
# Old vs new build of metric plugins, side by side on one noisy machine:
# runs `metrics-timing` alternately on two plugin folders, ROUNDS times, and
# prints every call time, each side's median over all calls and the ratio.
#
#   harness/metrics-bench/compare-builds.sh OLD_DIR NEW_DIR [METRICS]
#
# OLD_DIR/NEW_DIR hold the plugin libraries (e.g. a copy of the old
# target/release/librdpbench_metric_decoder_cosine.so in target/dc-old, and
# target/release). METRICS: comma-separated ids (default
# mean-max-decoder-cosine). Environment: ROUNDS (default 3), REPS (calls per
# round after the warm-up, default 3), THREADS (default 2). Needs
# `cargo build --release -p rdpbench-metrics-bench` (the metrics-timing bin).
set -euo pipefail
cd "$(dirname "$0")/../.."
OLD="$1"
NEW="$2"
METRICS="${3:-mean-max-decoder-cosine}"
ROUNDS="${ROUNDS:-3}"
REPS="${REPS:-3}"
THREADS="${THREADS:-2}"
export RDPBENCH_THREADS="$THREADS" RAYON_NUM_THREADS="$THREADS"
OUT="${OUT:-target/metrics-bench-compare}"
mkdir -p "$OUT"
for round in $(seq 1 "$ROUNDS"); do
    for side in old new; do
        dir="$OLD"
        [ "$side" = new ] && dir="$NEW"
        target/release/metrics-timing --build-dir "$dir" --metrics "$METRICS" \
            --reps "$REPS" --out "$OUT/$side" >/dev/null
        cp "$OUT/$side/rust.json" "$OUT/$side-$round.json"
    done
done
python3 - "$OUT" "$ROUNDS" <<'PY'
import json, statistics, sys
out, rounds = sys.argv[1], int(sys.argv[2])
times, values = {}, {}
for side in ("old", "new"):
    for r in range(1, rounds + 1):
        for m in json.load(open(f"{out}/{side}-{r}.json"))["metrics"]:
            times.setdefault((m["id"], side), []).extend(m["times_s"])
            values.setdefault((m["id"], side), set()).add(m["value"])
for mid in sorted({k[0] for k in times}):
    o, n = times[(mid, "old")], times[(mid, "new")]
    mo, mn = statistics.median(o), statistics.median(n)
    same = values[(mid, "old")] == values[(mid, "new")] and len(values[(mid, "old")]) == 1
    print(f"{mid}: old median {mo:.3f} s {[round(t, 3) for t in o]}")
    print(f"{mid}: new median {mn:.3f} s {[round(t, 3) for t in n]}")
    print(f"{mid}: old/new {mo / mn:.2f}x; values identical across all calls: {same} "
          f"({sorted(values[(mid, 'new')])})")
PY

#!/usr/bin/env bash
# The real-data pipeline end to end (issue #7), printing each stage's wall time:
#
#   1. rdpbench lm extract --corpus brown --max-tokens N   (activation cache, resumable)
#   2. rdpbench real --cache CACHE --out OUT               (train sweep, held-out eval, toy ranking)
#   3. rdpbench check --out OUT (only when OUT has no check.json), then
#      rdpbench report OUT                                 (HTML report with the "Real data" section)
#   4. rdpbench bench --cache CACHE --sae OUT/real-saes/*     (metric runtime on the real SAEs and
#      the cache's held-out rows, into OUT/real-bench; the report's "Real data" section shows it;
#      BENCH=0 skips it; BENCH_ARGS adds arguments, e.g. "--n-tokens 1000,4000,16000")
#
# Usage: scripts/real-run.sh [MAX_TOKENS] (default 20000)
# Environment: OUT (results folder, default rdpbench-out), CACHE (default
# rdpbench-out/activations/brown-L15-N<MAX_TOKENS>), RDPBENCH (the binary, default
# target/release/rdpbench), LAYER (default 15), JOBS (metrics in parallel, default
# all CPUs), REAL_ARGS (extra arguments for `rdpbench real`, e.g. "--steps 300").
# Needs scripts/fetch-real-data.sh first and a release build:
#   cargo build --release --workspace
# Each stage resumes: a finished cache shard is not re-extracted and a finished SAE
# is not retrained.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"
max_tokens="${1:-20000}"
layer="${LAYER:-15}"
out="${OUT:-rdpbench-out}"
cache="${CACHE:-rdpbench-out/activations/brown-L${layer}-N${max_tokens}}"
bin="${RDPBENCH:-target/release/rdpbench}"
jobs="${JOBS:-$(nproc)}"

[[ -x "$bin" ]] || { echo "real-run: $bin not found; run: cargo build --release --workspace" >&2; exit 2; }

stage() {
    local name="$1"; shift
    local t0 t1
    t0=$(date +%s.%N)
    "$@"
    t1=$(date +%s.%N)
    printf 'real-run: stage %-8s %8.1f s\n' "$name" "$(echo "$t1 - $t0" | bc)" >&2
}

stage extract "$bin" lm extract --corpus brown --layer "$layer" --max-tokens "$max_tokens" --out "$cache"
# shellcheck disable=SC2086
stage real "$bin" real --cache "$cache" --out "$out" -j "$jobs" ${REAL_ARGS:-} >/dev/null
if [[ "${BENCH:-1}" == 1 ]]; then
    mapfile -t saes < <(find "$out/real-saes" -mindepth 1 -maxdepth 1 -type d ! -name toy | sort)
    # shellcheck disable=SC2086
    stage bench "$bin" bench --cache "$cache" --sae "${saes[@]}" --out "$out/real-bench" ${BENCH_ARGS:-} >/dev/null
fi
# The report is built around check.json (the conditions leaderboard); make one if the
# results folder has none (about a minute on 2 cores).
[[ -f "$out/check.json" ]] || stage check "$bin" check --out "$out" >/dev/null || true
stage report "$bin" report "$out"

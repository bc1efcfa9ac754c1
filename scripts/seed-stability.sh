#!/usr/bin/env bash
# Seed stability of the built-in metrics' verdicts (conditions spec v2):
# `rdpbench check` with seed sets {0,1,2}, {3,4,5}, {6,7,8} and {9,10,11},
# then scripts/seed-stability.py compares them: no verdict may go from pass to
# FAIL or back; moves to or from "inconclusive" are allowed and listed.
# Exit 1 on a flip. Prints each run's wall time.
#
# Usage: scripts/seed-stability.sh [OUT_DIR]   (default: target/seed-stability)
# Needs a release build: cargo build --release --workspace (or RDPBENCH=path/to/rdpbench)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-target/seed-stability}
bin=${RDPBENCH:-./target/release/rdpbench}
[[ -x $bin ]] || { echo "build first: cargo build --release --workspace" >&2; exit 2; }
mkdir -p "$out"
dirs=()
for set in 0,1,2 3,4,5 6,7,8 9,10,11; do
  dir="$out/seeds-${set//,/-}"
  start=$(date +%s.%N)
  # Exit 0 or 3 (a test plugin on the path) are both a completed run.
  "$bin" check --seeds "$set" --out "$dir" >"$dir.log" 2>&1 || [[ $? -eq 3 ]]
  end=$(date +%s.%N)
  printf 'seeds %s: %.1f s\n' "$set" "$(echo "$end - $start" | bc)"
  dirs+=("$dir")
done
python3 scripts/seed-stability.py "${dirs[@]}"

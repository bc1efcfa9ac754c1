#!/usr/bin/env bash
# Side-by-side wall time of `rdpbench run` (default config, embedded toy) for
# two builds, alternating A, B, A, B, ... so that a noisy machine affects both.
#
#   scripts/compare-run-time.sh BIN_A BIN_B [ROUNDS]
#
# BIN_A and BIN_B are folders holding an `rdpbench` release binary and the
# plugin libraries it finds beside it (copy target/release/rdpbench and
# target/release/lib*.so of each build into its own folder). Prints one line
# per run and each run's stage table; results go to a fresh temporary folder.
set -euo pipefail
a=${1:?usage: $0 BIN_A BIN_B [ROUNDS]}
b=${2:?usage: $0 BIN_A BIN_B [ROUNDS]}
rounds=${3:-2}
work=$(mktemp -d)
for i in $(seq 1 "$rounds"); do
  for side in A B; do
    bin=$a; [ "$side" = B ] && bin=$b
    out="$work/run-$side-$i"
    start=$(date +%s.%N)
    rc=0
    (cd "$work" && "$bin/rdpbench" run --out "$out" >"$out.stdout" 2>"$out.stderr") || rc=$?
    end=$(date +%s.%N)
    echo "$side run $i: rc=$rc wall=$(echo "$end - $start" | bc) s"
    grep -E '^  [a-z-]+ +(ok|FAILED)' "$out.stderr" || true
  done
done
echo "results in $work"

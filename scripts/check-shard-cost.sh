#!/usr/bin/env bash
# What sharding `rdpbench check` costs, and whether the merge matches: the
# check at its default size (every loaded metric, [check] defaults, --jobs 1)
# run once unsharded, then as SHARDS shards (one after another on this
# machine, in reverse order) and the merge, each timed; then every file the
# check writes is compared byte for byte (check.*, report.html, cases/).
# Numbers for docs/slurm.md.
#
#   scripts/check-shard-cost.sh                      # SHARDS=4, shrink cap 5 s
#   SHRINK_SECONDS=600 scripts/check-shard-cost.sh   # only the trial budget ends a shrink
#   CHECK_ARGS="--metrics oracle-p-gt,mean-firing-density --seeds 0 --samples 2000" \
#       scripts/check-shard-cost.sh                  # a smaller check
#
# RDPBENCH: the binary (default target/debug/rdpbench; build it first with
# `cargo build --workspace`). Exits 1 when a file differs.
set -euo pipefail
cd "$(dirname "$0")/.."
RDPBENCH="${RDPBENCH:-target/debug/rdpbench}"
SHARDS="${SHARDS:-4}"
SHRINK_SECONDS="${SHRINK_SECONDS:-5.0}"
read -r -a check_args <<<"${CHECK_ARGS:-}"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
printf '[check]\nshrink_seconds = %s\n' "$SHRINK_SECONDS" >"$work/cfg.toml"
# Exit 0-5 are outcomes of a check (4, 5 need --strict/--baseline); others are failures.
run() {
    local rc=0
    "$RDPBENCH" --config "$work/cfg.toml" "$@" "${check_args[@]}" --jobs 1 >/dev/null 2>"$work/stderr" || rc=$?
    if [ "$rc" -gt 5 ] || [ "$rc" -eq 1 ] || [ "$rc" -eq 2 ]; then cat "$work/stderr" >&2; exit 1; fi
}
secs() { local t0 t1; t0=$(date +%s.%N); "$@"; t1=$(date +%s.%N); awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }'; }

echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "unsharded: $(secs run check --out "$work/a") s"
for ((i = SHARDS - 1; i >= 0; i--)); do
    echo "shard $i/$SHARDS: $(secs run check --out "$work/b" --shard "$i/$SHARDS") s"
done
echo "merge: $(secs run merge check --out "$work/b") s"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
python3 - "$work/a/check.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
cases = [c for m in r["metrics"] for c in m.get("minimal_cases", [])]
print(f"{len(r['metrics'])} metrics, seeds {r['settings']['seeds']}, N = {r['settings']['n_samples']}; "
      f"{len(cases)} case(s), {sum(c['timed_out'] for c in cases)} ended by the shrink time cap")
PY
status=0
for f in check.json check.csv check.md check.junit.xml report.html; do
    if cmp -s "$work/a/$f" "$work/b/$f"; then echo "same $f"; else echo "DIFF $f"; status=1; fi
done
if diff -rq "$work/a/cases" "$work/b/cases" >/dev/null 2>&1; then
    echo "same cases/ ($(ls "$work/a/cases" 2>/dev/null | wc -l) files)"
else
    echo "DIFF cases/: $(diff -rq "$work/a/cases" "$work/b/cases" 2>&1 | wc -l) file(s)"; status=1
fi
exit $status

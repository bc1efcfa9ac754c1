#!/usr/bin/env bash
# What sharding costs: a validity population of 4*SEEDS toy SAEs run once
# unsharded, then as SHARDS shards (one after another on this machine) and
# the merge, each timed; the merge is repeated REPEATS times (it rewrites the
# same files) and its median printed. Numbers for docs/slurm.md.
#
#   scripts/shard-cost.sh            # SEEDS=4 SHARDS=4 REPEATS=3
#   SEEDS=8 SHARDS=8 scripts/shard-cost.sh
#
# RDPBENCH: the binary (default target/debug/rdpbench; build it first with
# `cargo build --workspace`).
set -euo pipefail
cd "$(dirname "$0")/.."
RDPBENCH="${RDPBENCH:-target/debug/rdpbench}"
SEEDS="${SEEDS:-4}"
SHARDS="${SHARDS:-4}"
REPEATS="${REPEATS:-3}"
METRICS="oracle-p-gt,mean-max-decoder-cosine,mean-firing-density"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
seeds="$(seq -s, 0 $((SEEDS - 1)))"
cat >"$work/cfg.toml" <<EOF
[validity]
architectures = ["topk"]
q_factors = [0.0, 1.0]
seeds = [$seeds]
d_sae = 16
steps = 100
batch_size = 128
eval_samples = 512
bootstrap_resamples = 100

[validity.sparsity]
topk = [1.0, 3.0]
EOF
out="$work/out"
run() { "$RDPBENCH" --config "$work/cfg.toml" "$@" --out "$out" --metrics "$METRICS" --jobs 1 >/dev/null 2>"$work/stderr" || { cat "$work/stderr" >&2; exit 1; }; }
secs() { local t0 t1; t0=$(date +%s.%N); "$@"; t1=$(date +%s.%N); awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }'; }

n_saes=$((4 * SEEDS))
echo "validity population: $n_saes SAEs, $SHARDS shards, binary $RDPBENCH"
whole=$(secs run validity)
printf 'unsharded:            %.2f s\n' "$whole"
cp "$out/validity.json" "$work/expected.json"
rm -rf "$out"
total=0
for ((i = 0; i < SHARDS; i++)); do
    t=$(secs run validity --shard "$i/$SHARDS")
    total=$(awk -v a="$total" -v b="$t" 'BEGIN { print a + b }')
    printf 'shard %d/%d:           %.2f s\n' "$i" "$SHARDS" "$t"
done
printf 'all shards (sum):     %.2f s\n' "$total"
merges=()
for ((r = 0; r < REPEATS; r++)); do
    merges+=("$(secs run merge validity)")
done
median=$(printf '%s\n' "${merges[@]}" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
printf 'merge (median of %d): %.3f s\n' "$REPEATS" "$median"
cmp -s "$out/validity.json" "$work/expected.json" && echo "merged validity.json: byte-identical to the unsharded one"
printf 'job records: %s bytes for %d SAEs; SAE folders: %s bytes\n' \
    "$(du -sb "$out/shards/validity/jobs" | cut -f1)" "$n_saes" "$(du -sb "$out/validity-saes" | cut -f1)"

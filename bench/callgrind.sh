#!/usr/bin/env bash
# Counts instructions per operation with callgrind for the allocation fast
# paths against their naive references: W1 (framealloc, and with align 0,
# vs the naive bump pointer), W2 (framealloc pools vs the naive free list)
# and W4 (a whole task scope, framealloc tasks vs the naive bump pointer).
# Instruction counts do not depend on the load of a shared machine, unlike
# wall-clock times. Only the timed repetition is counted (fa-bench
# --callgrind toggles collection around it), after a warm-up repetition.
#
# Writes bench/out/callgrind.tsv, then regenerates bench/results.md when
# timed results exist (BENCH_NO_REPORT=1 skips that).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
build=${BENCH_BUILD_DIR:-$root/build-bench}
out=$here/out
bin=$build/bench/fa-bench

command -v valgrind >/dev/null || {
  echo "callgrind.sh: valgrind is not installed" >&2
  exit 1
}
[ "${BENCH_NO_BUILD:-0}" = 1 ] || BENCH_BUILD_DIR=$build bash "$here/build.sh"
grep -qE '^callgrind=(1|ON|TRUE|YES)$' "$build/bench/peers.env" || {
  echo "callgrind.sh: fa-bench was built without valgrind/callgrind.h" >&2
  exit 1
}
mkdir -p "$out"
tsv=$out/callgrind.tsv
printf 'workload\tvariant\tir_per_op\tir\tops\n' >"$tsv"

for spec in "w1 fa 64" "w1 fa-align0 64" "w1 bump 64" \
  "w1 fa mixed" "w1 fa-align0 mixed" "w1 bump mixed" "w2 fa" "w2 list" \
  "w4 fa" "w4 bump"; do
  read -r -a args <<<"$spec"
  cg_out=$(mktemp "$out/callgrind.out.XXXXXX")
  line=$(BENCH_REPS=1 BENCH_QUICK=0 valgrind --tool=callgrind \
    --collect-atstart=no --callgrind-out-file="$cg_out" \
    "$bin" "${args[@]}" --callgrind 2>/dev/null)
  ir=$(awk '$1 == "totals:" { print $2 }' "$cg_out")
  rm -f "$cg_out"
  awk -F'\t' -v ir="$ir" '{
      split($9, o, "="); printf "%s\t%s\t%.2f\t%s\t%s\n", $2, $3,
      ir / o[2], ir, o[2] }' <<<"$line" | tee -a "$tsv"
done

if [ "${BENCH_NO_REPORT:-0}" != 1 ] && [ -s "$out/raw.tsv" ]; then
  bash "$here/report.sh"
fi

#!/usr/bin/env bash
# The cost of <framealloc/timeline.h> on W1: framealloc alone, with a
# history of 256 frames ("fa-history") and writing a trace to a file
# ("fa-trace"), side by side in one run. The variants run in interleaved
# rounds (one process each), so a slow spell of a shared machine hits them
# alike; the medians of the rounds give the ratios. Then callgrind counts
# instructions per allocation of each (frame ends included), which do not
# depend on the load.
#
# Writes bench/out/timeline.tsv and prints a Markdown table.
#
# Environment: BENCH_ROUNDS (default 11), BENCH_BUILD_DIR (build-bench),
# BENCH_TRACE_DIR (where fa-trace writes; default /tmp), BENCH_CALLGRIND=0
# to skip the instruction counts.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
build=${BENCH_BUILD_DIR:-$root/build-bench}
rounds=${BENCH_ROUNDS:-11}
out=$here/out
bin=$build/bench/fa-bench
variants=(fa fa-history fa-trace)
sizes=(64 mixed)

BENCH_BUILD_DIR=$build bash "$here/build.sh"
mkdir -p "$out"
raw=$out/timeline-raw.tsv
: >"$raw"
for ((r = 0; r < rounds; r++)); do
  for size in "${sizes[@]}"; do
    for v in "${variants[@]}"; do
      line=$(BENCH_REPS=1 "$bin" w1 "$v" "$size")
      awk -F'\t' '{ split($5, n, "="); print $2 "\t" $3 "\t" n[2] }' \
        <<<"$line" >>"$raw"
    done
  done
done

ir_per_op() { # variant size
  local cg
  cg=$(mktemp "$out/callgrind.out.XXXXXX")
  local line
  line=$(BENCH_REPS=1 BENCH_QUICK=0 valgrind --tool=callgrind \
    --collect-atstart=no --callgrind-out-file="$cg" \
    "$bin" w1 "$1" "$2" --callgrind 2>/dev/null)
  local ir
  ir=$(awk '$1 == "totals:" { print $2 }' "$cg")
  rm -f "$cg"
  awk -F'\t' -v ir="$ir" '{ split($9, o, "="); printf "%.2f", ir / o[2] }' \
    <<<"$line"
}

tsv=$out/timeline.tsv
printf 'workload\tvariant\tmedian_ns_per_op\tratio\tir_per_op\n' >"$tsv"
for size in "${sizes[@]}"; do
  base=""
  for v in "${variants[@]}"; do
    med=$(awk -F'\t' -v w="w1-$size" -v v="$v" '$1 == w && $2 == v { print $3 }' \
      "$raw" | sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }')
    [ -n "$base" ] || base=$med
    ratio=$(awk -v m="$med" -v b="$base" 'BEGIN { printf "%.3f", m / b }')
    ir=-
    if [ "${BENCH_CALLGRIND:-1}" != 0 ] && command -v valgrind >/dev/null &&
      grep -qE '^callgrind=(1|ON|TRUE|YES)$' "$build/bench/peers.env"; then
      ir=$(ir_per_op "$v" "$size")
    fi
    printf 'w1-%s\t%s\t%s\t%s\t%s\n' "$size" "$v" "$med" "$ratio" "$ir" >>"$tsv"
  done
done

echo "| workload | variant | ns/op (median of $rounds) | vs framealloc | instructions/op |"
echo "|---|---|---:|---:|---:|"
tail -n +2 "$tsv" | while IFS=$'\t' read -r w v m r i; do
  label=$([ "$w" = w1-64 ] && echo "W1 frame, 64 B" || echo "W1 frame, 16-256 B")
  printf '| %s | %s | %.2f | %.2f× | %s |\n' "$label" "$v" "$m" "$r" "$i"
done

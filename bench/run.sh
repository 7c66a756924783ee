#!/usr/bin/env bash
# Builds the benchmark suite (Release, FA_DEBUG=0, no sanitizer, in
# build-bench), runs every workload variant (W1 to W4 and the guard),
# counts instructions with callgrind, and writes bench/results.md and
# bench/results.svg (through report.sh; a BENCH_QUICK run writes them to
# bench/out/ instead). Raw output goes to bench/out/.
#
# Each variant runs in a process of its own: a warm-up repetition, then one
# timed repetition. The whole list of variants is run BENCH_REPS times in
# rounds (default 5) and the median of the rounds is reported, so that a
# slow spell of a shared machine hits every variant alike.
#
# Environment:
#   BENCH_REPS=N        rounds (default 5; 3 with BENCH_QUICK)
#   BENCH_QUICK=1       smaller workloads, for a smoke run
#   BENCH_CALLGRIND=0|1 instruction counts (default: 1 when valgrind exists)
#   BENCH_BUILD_DIR     build directory (default: build-bench)
#   BENCH_TIMEOUT       seconds allowed to one process (default 300)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
build=${BENCH_BUILD_DIR:-$root/build-bench}
out=$here/out
quick=${BENCH_QUICK:-0}
[ "$quick" = 0 ] || quick=1
reps=${BENCH_REPS:-$([ "$quick" = 1 ] && echo 3 || echo 5)}
timeout_s=${BENCH_TIMEOUT:-300}

echo "== building (Release) in $build"
BENCH_BUILD_DIR=$build bash "$here/build.sh"
bin=$build/bench/fa-bench

# peers.env, written by CMake: the preload path of each malloc peer (empty:
# not installed) and whether APR and talloc were built in.
declare -A peer
while IFS='=' read -r k v; do
  peer[$k]=$v
done <"$build/bench/peers.env"
have() {
  case "${peer[$1]:-}" in 1 | ON | TRUE | YES) return 0 ;; esac
  return 1
}

mkdir -p "$out"
rm -f "$out"/raw.tsv "$out"/failed.txt "$out"/callgrind.tsv "$out"/info.tsv
: >"$out/raw.tsv"
printf 'quick=%s\nrounds=%s\n' "$quick" "$reps" >"$out/run.env"

# The run list: "workload variant size malloc"; malloc is the peer to
# preload ("glibc": none, "-": the variant does not use malloc).
runs=()
mallocs=(glibc)
for m in mimalloc jemalloc tcmalloc; do
  if [ -n "${peer[$m]:-}" ]; then
    mallocs+=("$m")
  else
    echo "note: $m not found, its rows are skipped" >&2
  fi
done
w1_others=(fa fa-align0 bump obstack)
have apr && w1_others+=(apr)
have talloc && w1_others+=(talloc)
for size in 64 mixed; do
  for v in "${w1_others[@]}"; do runs+=("w1 $v $size -"); done
  for m in "${mallocs[@]}"; do runs+=("w1 malloc $size $m"); done
done
runs+=("w2 fa - -" "w2 list - -")
have talloc && runs+=("w2 talloc - -")
for m in "${mallocs[@]}"; do runs+=("w2 malloc - $m"); done
runs+=("w3 fa - -" "w3 none - -")
for m in "${mallocs[@]}"; do runs+=("w3 malloc - $m"); done
runs+=("w5 fa - -" "w5 none - -")
for m in "${mallocs[@]}"; do runs+=("w5 malloc - $m"); done
# W4: the mimalloc heap variant runs with mimalloc preloaded, the other
# non-malloc variants on glibc.
runs+=("w4 fa - -" "w4 bump - -" "w4 obstack - -" "w4 obstack-first - -")
have apr && runs+=("w4 apr - -" "w4 apr-clear - -")
have talloc && runs+=("w4 talloc - -")
[ -z "${peer[mimalloc]:-}" ] || runs+=("w4 mi-heap - mimalloc")
for m in "${mallocs[@]}"; do runs+=("w4 malloc - $m"); done
# Guard: the size field is the number of threads filling the batch.
for t in 4 1; do runs+=("guard fa $t -" "guard tracker $t glibc"); done

# Runs fa-bench with the peer preloaded; prints its result line.
run_one() {
  local w=$1 v=$2 size=$3 m=$4 args=("$1" "$2")
  [ "$size" = - ] || args+=("$size")
  local env=(BENCH_REPS=1 BENCH_QUICK="$quick")
  if [ "$m" != - ]; then
    args+=(--expect "$m")
    [ "$m" = glibc ] || env+=(LD_PRELOAD="${peer[$m]}")
  fi
  env "${env[@]}" timeout "$timeout_s" "$bin" "${args[@]}"
}

# The versions each malloc reports about itself, for the header.
for m in "${mallocs[@]}"; do
  if [ "$m" = glibc ]; then
    "$bin" info | head -1
  else
    LD_PRELOAD="${peer[$m]}" "$bin" info | head -1
  fi
done >"$out/info.tsv"
"$bin" info | sed -n 2p >>"$out/info.tsv"

total=${#runs[@]}
start=$(date +%s)
# W1 and W4 processes are short (about 10 ms) and their time depends on
# where the process's memory happens to land (some placements run the same
# code about 1.5x slower on this machine, for the life of the process), so
# each W1 and W4 variant runs in BENCH_SHORT_PROCS processes per round.
short_procs=${BENCH_SHORT_PROCS:-3}
for ((r = 1; r <= reps; r++)); do
  echo "== round $r/$reps ($total variants)"
  for spec in "${runs[@]}"; do
    read -r w v size m <<<"$spec"
    n=1
    case $w in w1 | w4) n=$short_procs ;; esac
    for ((k = 0; k < n; k++)); do
      if line=$(run_one "$w" "$v" "$size" "$m"); then
        printf '%s\t%s\n' "$line" "round=$r" >>"$out/raw.tsv"
        printf '   %-9s %-10s %s\n' "$(cut -f2 <<<"$line")" \
          "$(cut -f3 <<<"$line")" "$(cut -f5 <<<"$line")"
      else
        echo "FAILED (status $?): fa-bench $spec" | tee -a "$out/failed.txt" >&2
      fi
    done
  done
done
echo "== timed runs took $(($(date +%s) - start)) s"

# W2 repeats the same seeded sequence in every process, so all of them must
# read back the same checksum; a difference means a broken allocator.
if ! awk -F'\t' '$2 == "w2" && !($11 in seen) { seen[$11] = 1; n++ }
  END { exit n > 1 }' "$out/raw.tsv"; then
  echo "W2 checksums differ between variants" | tee -a "$out/failed.txt" >&2
fi

cg=${BENCH_CALLGRIND:-auto}
if [ "$cg" = auto ]; then
  cg=0
  command -v valgrind >/dev/null && have callgrind && cg=1
fi
if [ "$cg" = 1 ]; then
  echo "== callgrind"
  BENCH_BUILD_DIR=$build BENCH_NO_BUILD=1 BENCH_NO_REPORT=1 \
    bash "$here/callgrind.sh"
fi

BENCH_BUILD_DIR=$build bash "$here/report.sh"
[ ! -s "$out/failed.txt" ] || {
  echo "some runs failed: see bench/out/failed.txt" >&2
  exit 1
}

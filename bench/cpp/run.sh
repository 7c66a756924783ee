#!/usr/bin/env bash
# Benchmarks <framealloc.hpp>'s resources against std::pmr's own and
# std::allocator (glibc malloc, and mimalloc through LD_PRELOAD when it is
# installed), then writes the "C++" section of bench/results.md (replacing
# the one there). `make bench` runs it after bench/run.sh.
#
# Each variant runs in a process of its own (fa-bench-cpp, see
# bench_cpp.cpp), the whole list BENCH_REPS times in rounds (default 5; 3
# with BENCH_QUICK=1), and the median of the rounds is reported, so that a
# slow spell of a shared machine hits every variant alike. With valgrind,
# the one-thread variants of framealloc and of the reference peer are also
# counted in instructions (callgrind, timed part only), which the load of
# the machine does not change. Raw output goes to bench/out/cpp-*.tsv.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
bench=$(dirname "$here")
root=$(dirname "$bench")
build=${BENCH_BUILD_DIR:-$root/build-bench}
out=$bench/out
quick=${BENCH_QUICK:-0}
[ "$quick" = 0 ] || quick=1
reps=${BENCH_REPS:-$([ "$quick" = 1 ] && echo 3 || echo 5)}
results=${BENCH_RESULTS:-$bench/results.md}
[ "$quick" = 0 ] || results=${BENCH_RESULTS:-$out/results-cpp.md}

echo "== building fa-bench-cpp (Release) in $build"
BENCH_BUILD_DIR=$build bash "$bench/build.sh" fa-bench-cpp
bin=$build/bench/fa-bench-cpp
mimalloc=$(sed -n 's/^mimalloc=//p' "$build/bench/peers.env")

mkdir -p "$out"
raw=$out/cpp-raw.tsv
cg=$out/cpp-callgrind.tsv
: >"$raw"

# "workload variant threads malloc"
runs=()
for t in 1 2; do
  for v in fa monotonic unsync sync std; do runs+=("frame $v $t glibc"); done
  [ -z "$mimalloc" ] || runs+=("frame std $t mimalloc")
  for v in fa unsync sync std; do runs+=("pool $v $t glibc"); done
  [ -z "$mimalloc" ] || runs+=("pool std $t mimalloc")
done
[ -n "$mimalloc" ] || echo "note: mimalloc not found, its rows are skipped" >&2

start=$(date +%s)
for ((r = 1; r <= reps; r++)); do
  echo "== round $r/$reps"
  for spec in "${runs[@]}"; do
    read -r w v t m <<<"$spec"
    env=(BENCH_QUICK="$quick")
    [ "$m" = glibc ] || env+=(LD_PRELOAD="$mimalloc")
    line=$(env "${env[@]}" "$bin" "$w" "$v" "$t")
    printf '%s\t%s\n' "$line" "$m" >>"$raw"
    printf '   %-6s %-10s %s thr %-9s %s ns/op\n' "$w" "$v" "$t" "$m" \
      "$(cut -f4 <<<"$line")"
  done
done
echo "== timed runs took $(($(date +%s) - start)) s"

printf 'workload\tvariant\tir_per_op\n' >"$cg"
if command -v valgrind >/dev/null 2>&1; then
  for spec in "frame fa" "frame monotonic" "pool fa" "pool unsync"; do
    read -r w v <<<"$spec"
    file=$(mktemp "$out/callgrind.out.XXXXXX")
    line=$(BENCH_QUICK=0 valgrind --tool=callgrind --collect-atstart=no \
      --callgrind-out-file="$file" "$bin" "$w" "$v" 1 --callgrind 2>/dev/null)
    ir=$(awk '$1 == "totals:" { print $2 }' "$file")
    rm -f "$file"
    awk -F'\t' -v ir="$ir" '{ split($6, o, "=");
      printf "%s\t%s\t%.1f\n", $1, $2, ir / o[2] }' <<<"$line" | tee -a "$cg"
  done
fi

# Medians per (workload, variant, threads, malloc): "w v t m median min max".
medians=$(sort -t$'\t' -k1,1 -k2,2 -k3,3n -k8,8 -k4,4g "$raw" | awk -F'\t' '
  function flush() {
    if (n) printf "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", w, v, t, m,
      x[int((n + 1) / 2)], x[1], x[n]
  }
  { key = $1 SUBSEP $2 SUBSEP $3 SUBSEP $8
    if (key != last) { flush(); n = 0; last = key }
    w = $1; v = $2; t = $3; m = $8; x[++n] = $4 }
  END { flush() }')

name() {
  case "$1/$2" in
  fa/*) echo "**framealloc** (\`fa::$3\`)" ;;
  monotonic/*) echo "monotonic_buffer_resource, release() per frame" ;;
  unsync/*) echo "unsynchronized_pool_resource" ;;
  sync/*) echo "synchronized_pool_resource" ;;
  std/glibc) echo "std::allocator, glibc malloc" ;;
  std/mimalloc) echo "std::allocator, mimalloc" ;;
  esac
}

# One table: every variant of a workload and thread count, with its ratio
# to framealloc (above 1: slower than framealloc).
table() {
  local w=$1 t=$2 res=$3 fa_ns
  fa_ns=$(awk -F'\t' -v w="$w" -v t="$t" \
    '$1 == w && $2 == "fa" && $3 == t { print $5 }' <<<"$medians")
  echo "| variant | ns/op | range | vs framealloc |"
  echo "|---|---:|---:|---:|"
  while IFS=$'\t' read -r mw v mt m med lo hi; do
    [ "$mw" = "$w" ] && [ "$mt" = "$t" ] || continue
    printf '| %s | %.2f | %.2f–%.2f | %.2f× |\n' "$(name "$v" "$m" "$res")" \
      "$med" "$lo" "$hi" "$(awk -v a="$med" -v b="$fa_ns" 'BEGIN { print a / b }')"
  done <<<"$medians"
}

# framealloc's time over a peer's (below 1: framealloc is faster).
ratio() {
  awk -F'\t' -v w="$1" -v t="$2" -v p="$3" '
    $1 == w && $3 == t && $4 == "glibc" && $2 == "fa" { f = $5 }
    $1 == w && $3 == t && $4 == "glibc" && $2 == p { q = $5 }
    END { printf "%.2f", f / q }' <<<"$medians"
}
cg_ratio() {
  awk -F'\t' -v w="$1" -v p="$2" '
    $1 == w && $2 == "fa" { f = $3 } $1 == w && $2 == p { q = $3 }
    END { if (f && q) printf "%.2f", f / q; else printf "n/a" }' "$cg"
}
verdict() { awk -v r="$1" -v lim="$2" -v op="$3" 'BEGIN {
  if (r == "n/a") print "n/a"; else if (op == "le") print (r <= lim ? "yes" : "**no**");
  else print (r <= lim ? "yes" : "**no**") }'; }

f1=$(ratio frame 1 monotonic)
f1cg=$(cg_ratio frame monotonic)
p2=$(ratio pool 2 sync)
p1=$(ratio pool 1 unsync)
p1cg=$(cg_ratio pool unsync)
speed2=$(awk -F'\t' '$1 == "pool" && $3 == 2 && $4 == "glibc" && $2 == "fa" { f = $5 }
  $1 == "pool" && $3 == 2 && $4 == "glibc" && $2 == "sync" { q = $5 }
  END { printf "%.2f", q / f }' <<<"$medians")

section=$(mktemp)
{
  echo "## C++"
  echo
  echo "\`<framealloc.hpp>\`'s resources against \`std::pmr\`'s own and"
  echo "\`std::allocator\`, by \`bench/cpp/run.sh\` (\`make bench\` runs it; alone:"
  echo "\`bash bench/cpp/run.sh\`). $(date -u '+%Y-%m-%d %H:%M UTC'), commit"
  echo "$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown), $(
    "${CXX:-c++}" --version | head -1), -O2; median of $reps rounds, one process"
  echo "per variant per round. ns/op is wall time per allocating operation of"
  echo "one thread (threads run at once). The machine is shared by other jobs"
  echo "(load average $(cut -d' ' -f1-3 /proc/loadavg) at the end): timings are"
  echo "noisy, which is why the one-thread goals are also given in callgrind"
  echo "instruction counts (Ir/op), which that noise does not change."
  echo
  echo "Frame workload: per frame, a \`std::pmr::vector<int>\` grown by 1,000"
  echo "\`push_back\`s and 1,000 \`std::pmr::string\`s of 16–40 characters (longer"
  echo "than the small-string buffer, so each allocates), $([ "$quick" = 1 ] && echo 1,000 || echo 10,000) frames."
  echo "Pool workload: random insert/erase in a \`std::pmr::unordered_map<int,"
  echo "int>\` holding about 10,000 nodes, $([ "$quick" = 1 ] && echo 200,000 || echo "2 M") operations per thread; with 2"
  echo "threads each has its map, on one shared resource where the resource"
  echo "allows it (framealloc, synchronized), on one resource per thread"
  echo "otherwise (monotonic and unsynchronized cannot be shared)."
  echo
  echo "| goal | measured | met |"
  echo "|---|---|---|"
  echo "| frame, 1 thread: framealloc ≤ 1.1× monotonic_buffer_resource | $f1× time, $f1cg× Ir | $(verdict "$f1cg" 1.1 le) (Ir), $(verdict "$f1" 1.1 le) (time) |"
  echo "| pool, 2 threads: framealloc ≥ 2× faster than synchronized_pool_resource | $speed2× faster | $(awk -v s="$speed2" 'BEGIN { print (s >= 2 ? "yes" : "**no**") }') |"
  echo "| pool, 1 thread: framealloc ≤ 1.1× unsynchronized_pool_resource | $p1× time, $p1cg× Ir | $(verdict "$p1cg" 1.1 le) (Ir), $(verdict "$p1" 1.1 le) (time) |"
  echo
  echo "### Frame, 1 thread"
  echo
  table frame 1 frame_resource
  echo
  echo "### Frame, 2 threads through one allocator"
  echo
  table frame 2 frame_resource
  echo
  echo "### Pool, 1 thread"
  echo
  table pool 1 pool_resource
  echo
  echo "### Pool, 2 threads"
  echo
  table pool 2 pool_resource
  echo
  echo "### Instructions (callgrind, 1 thread)"
  echo
  echo "| workload | variant | Ir/op |"
  echo "|---|---|---:|"
  tail -n +2 "$cg" | while IFS=$'\t' read -r w v ir; do
    echo "| $w | $(name "$v" glibc "${w}_resource") | $ir |"
  done
} >"$section"

# Replace the section (from "## C++" to the next "## " heading) or append it.
if [ -f "$results" ]; then
  awk -v sect="$section" '
    /^## C\+\+$/ { skip = 1; while ((getline l < sect) > 0) print l; print ""; next }
    skip && /^## / { skip = 0 }
    !skip { print }
    END { }' "$results" >"$results.tmp"
  if ! grep -q '^## C++$' "$results"; then
    { echo; cat "$section"; } >>"$results.tmp"
  fi
  mv "$results.tmp" "$results"
else
  cp "$section" "$results"
fi
rm -f "$section"
echo "== wrote the C++ section of $results"

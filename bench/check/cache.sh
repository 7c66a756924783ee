#!/usr/bin/env bash
# fa-check's result cache on libuv's 37 translation units (a copy with three
# planted findings, tests/check/realcode/libuv_copy.sh), through its compile
# database with -j 2:
#   cold   an empty cache directory (every unit parsed and stored);
#   warm   the same again (every unit loaded from the cache);
#   header one header that most units include (src/uv-common.h) changed,
#          then the same again: the units that include it are parsed again.
# Each is compared with a run without the cache on the same sources: the
# output (--format json) must be byte for byte the same, or this script
# fails. The cold and warm runs alternate for BENCH_CACHE_RUNS rounds
# (default 5) and the medians are reported, wall-clock and CPU time
# (user + system): the machine may be shared, and CPU time moves less.
# Writes bench/out/check/cache.md and puts it in bench/results.md (which
# bench/report.sh keeps when it rewrites the file).
#
# Environment: FA_CHECK (default build/tools/fa-check/fa-check),
# BENCH_CACHE_RUNS, REALCODE_DIR.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
bench=$(dirname "$here")
root=$(dirname "$bench")
fa_check=${FA_CHECK:-$root/build/tools/fa-check/fa-check}
runs=${BENCH_CACHE_RUNS:-5}
out=$bench/out/check
mkdir -p "$out"

die() {
  echo "bench/check/cache.sh: $*" >&2
  exit 1
}
[ -x "$fa_check" ] || die "no fa-check at $fa_check (make test-release)"
copy=$(bash "$root/tests/check/realcode/libuv_copy.sh" "$out/cache-libuv")
cache=$out/cache-dir
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

# run NAME ARGS...: one run from the scratch directory; its output in
# $out/cache-NAME.json, "WALL_MS CPU_MS" in $t, the cache's counts in $stats.
run() {
  local name=$1 status=0
  shift
  (cd "$scratch" && FA_CHECK_CACHE_STATS=1 /usr/bin/time -f '%e %U %S' \
    -o "$out/cache-time" "$fa_check" --all -j2 -p "$copy/db" --format json \
    --extra-arg=-I"$root/include" "$@") >"$out/cache-$name.json" \
    2>"$out/cache-$name.err" || status=$?
  [ "$status" -eq 1 ] || die "$name: status $status (three findings expected)"
  t=$(tail -n 1 "$out/cache-time" |
    awk '{printf "%d %d", $1 * 1000, ($2 + $3) * 1000}')
  stats=$(grep -o 'cache: .*' "$out/cache-$name.err" || echo "no cache")
}
median() { tr ' ' '\n' | sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }

run nocache
cold_w=() cold_c=() warm_w=() warm_c=()
for i in $(seq "$runs"); do
  rm -rf "$cache"
  run cold --cache "$cache"
  cold_stats=$stats
  cold_w+=("${t% *}") cold_c+=("${t#* }")
  cmp -s "$out/cache-cold.json" "$out/cache-nocache.json" ||
    die "cold run: the output differs from the run without the cache"
  run warm --cache "$cache"
  warm_stats=$stats
  warm_w+=("${t% *}") warm_c+=("${t#* }")
  cmp -s "$out/cache-warm.json" "$out/cache-nocache.json" ||
    die "warm run: the output differs from the run without the cache"
done

# One header changed: the units that include it miss, the output stays right.
header=$copy/libuv/src/uv-common.h
includers=$(grep -l '"uv-common.h"' -r "$copy/libuv/src" --include='*.c' |
  wc -l)
echo '/* changed by bench/check/cache.sh */' >>"$header"
run header-nocache
run header --cache "$cache"
header_stats=$stats header_t=$t
cmp -s "$out/cache-header.json" "$out/cache-header-nocache.json" ||
  die "after the header change: the output differs from a run without the cache"
run header-warm --cache "$cache"
header_warm_stats=$stats

cw=$(echo "${cold_w[*]}" | median) cc=$(echo "${cold_c[*]}" | median)
ww=$(echo "${warm_w[*]}" | median) wc=$(echo "${warm_c[*]}" | median)
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.1f", a / (b ? b : 1)}'; }
commit=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)
cat >"$out/cache.md" <<EOF
## fa-check result cache

Measured by \`bench/check/cache.sh\` (\`make bench-cache\`) on $(date -u '+%Y-%m-%d %H:%M UTC'),
commit $commit, on $(nproc) CPUs shared with other work (timings are noisy;
CPU time, user + system, moves less than wall-clock time; both as
\`/usr/bin/time\` gives them, to 10 ms, so the warm figures are coarse):
\`fa-check --all -j2 -p DB --format json --cache DIR\` on libuv 1.44.2's 37
translation units with three planted findings; the median of $runs rounds,
each a cold run (empty cache) then a warm one.

| run | wall ms | CPU ms | cache | each round, wall ms |
|---|---:|---:|---|---|
| cold | $cw | $cc | $cold_stats | ${cold_w[*]} |
| warm | $ww | $wc | $warm_stats | ${warm_w[*]} |
| \`src/uv-common.h\` changed | ${header_t% *} | ${header_t#* } | $header_stats | |

Warm over cold: $(ratio "$cw" "$ww")× faster wall-clock, $(ratio "$cc" "$wc")× in CPU time
(goal: at least 10×). The output of every run, cold, warm and after the
header change, is byte for byte that of a run without the cache. After the
change to \`src/uv-common.h\` (included by $includers .c files directly and by
more through other headers), the units that read it were parsed again:
"$header_stats"; the next run: "$header_warm_stats".
EOF
cat "$out/cache.md"
# Into results.md: replace the section, or add it at the end.
python3 - "$bench/results.md" "$out/cache.md" <<'PY'
import re, sys
md, sec = sys.argv[1], open(sys.argv[2]).read()
text = open(md).read()
pat = re.compile(r"^## fa-check result cache\n.*?(?=^## |\Z)", re.M | re.S)
text = pat.sub(lambda m: sec + "\n", text) if pat.search(text) else \
    text.rstrip("\n") + "\n\n" + sec
open(md, "w").write(text)
PY

#!/usr/bin/env bash
# Measures fa-check's speed against the compiler's own front end: the time
# of `fa-check --all` divided by that of `clang -fsyntax-only` on the same
# translation units with the same flags (the goal: at most 1.3x), on
#   (a) gen.c, a generated 5,000-line TU that includes <uv.h> and
#       <framealloc.h> (gen_tu.py; deterministic), and
#   (b) libuv's own sources, from the Debian source package (libuv.sh),
#       checked through their compile_commands.json with -p, with -j 1 and
#       -j 2 (the speed-up), clang running the same TUs one after the other
#       and two at a time.
# libuv has no frame memory: fa-check must finish on it without a crash and
# without a single diagnostic, or this script fails; so does a checker that
# misses a frame allocation added to an async function of the generated TU.
#
# Each command runs once untimed (a warm file cache), then BENCH_CHECK_RUNS
# times (default 5) in rounds that alternate the commands, so a slow spell
# of the shared machine hits them alike; the median of the rounds is
# reported, wall-clock and CPU time. On the generated TU a round's sample
# is the mean of 10 runs. Results go to bench/out/check/check.tsv and,
# when the timed allocator results exist, into bench/results.md through
# report.sh.
#
# Environment:
#   BENCH_CHECK_RUNS   timed rounds (default 5)
#   BENCH_CHECK_GEN_REPS  runs per sample on the generated TU (default 10)
#   BENCH_BUILD_DIR    build directory for fa-check (default: build-bench)
#   FA_CHECK           an fa-check binary to use instead of building one
#   CLANG              the clang to compare with (default: clang-14)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
bench=$(dirname "$here")
root=$(dirname "$bench")
build=${BENCH_BUILD_DIR:-$root/build-bench}
out=$bench/out/check
runs=${BENCH_CHECK_RUNS:-5}
clang=${CLANG:-$(command -v clang-14 || command -v clang || true)}

die() {
  echo "bench/check: $*" >&2
  exit 1
}
[ -n "$clang" ] || die "clang is not installed (scripts/bench-deps.sh)"
command -v python3 >/dev/null || die "python3 is not installed"
mkdir -p "$out"

# ---- The tools -----------------------------------------------------------
if [ -n "${FA_CHECK:-}" ]; then
  fa_check=$FA_CHECK
else
  echo "== building fa-check (Release) in $build"
  BENCH_BUILD_DIR=$build bash "$bench/build.sh" fa-check ||
    die "fa-check does not build"
  fa_check=$build/tools/fa-check/fa-check
fi
[ -x "$fa_check" ] || die "no fa-check binary at $fa_check"

# ---- The inputs ----------------------------------------------------------
echo "== inputs"
gen=$out/gen.c
python3 "$here/gen_tu.py" "$gen"
gen_lines=$(wc -l <"$gen")
gen_args=(-std=c11 -D_GNU_SOURCE "-I$root/include")

uv_build=$(CLANG="$clang" BENCH_CHECK_OUT="$out" bash "$here/libuv.sh")
uv_db=$out/libuv-db
uv_tus=$(python3 "$here/compdb.py" "$uv_build" "$uv_db" "$clang")
uv_version=$(basename "$(find "$out/libuv-src" -maxdepth 1 -mindepth 1 \
  -type d -name 'libuv1-*' | sort | tail -1)")
uv_version=${uv_version#libuv1-}
uv_lines=$(python3 -c '
import json, sys
n = 0
for e in json.load(open(sys.argv[1])):
    with open(e["file"], "rb") as f:
        n += f.read().count(b"\n")
print(n)' "$uv_db/compile_commands.json")
echo "   gen.c: $gen_lines lines; libuv $uv_version: $uv_tus TUs," \
  "$uv_lines lines"

# ---- The commands --------------------------------------------------------
# Each is a shell function so the timing loop can run it by name.
gen_clang() { "$clang" -fsyntax-only "${gen_args[@]}" "$gen"; }
gen_fa() { "$fa_check" --all --format compact "$gen" -- "${gen_args[@]}"; }
uv_clang_j1() { sh "$uv_db/syntax-only.txt"; }
uv_clang_j2() { xargs -d '\n' -P 2 -n 1 sh -c <"$uv_db/syntax-only.txt"; }
uv_fa_j1() { "$fa_check" --all -p "$uv_db" --format compact -j 1; }
uv_fa_j2() { "$fa_check" --all -p "$uv_db" --format compact -j 2; }
cmds=(gen_clang gen_fa uv_clang_j1 uv_fa_j1 uv_clang_j2 uv_fa_j2)

# The checker must run from a directory without an fa-check.toml above it
# that could change what it checks: the output directory is inside the
# repository, so it runs from a scratch directory.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# ---- Correctness first ---------------------------------------------------
# Runs fa-check once on each input and keeps what it printed. libuv must
# give status 0 and no diagnostic; gen.c follows the rules too, so any
# diagnostic there is reported (a false positive), but does not stop the
# measurement.
echo "== checking that fa-check runs cleanly"
diag_re='\[FA[0-9]{3}\]'
set +e
(cd "$work" && uv_fa_j2) >"$out/libuv.out" 2>"$out/libuv.err"
uv_status=$?
(cd "$work" && gen_fa) >"$out/gen.out" 2>"$out/gen.err"
gen_status=$?
set -e
# count_diags FILE...: the lines that carry a diagnostic code.
count_diags() { cat "$@" | { grep -cE "$diag_re" || true; }; }
uv_diags=$(count_diags "$out/libuv.out" "$out/libuv.err")
gen_diags=$(count_diags "$out/gen.out" "$out/gen.err")
if [ "$uv_status" -ne 0 ] || [ "$uv_diags" -ne 0 ]; then
  echo "FAILED: fa-check on libuv exited with status $uv_status and" \
    "printed $uv_diags diagnostic(s); libuv uses no frame memory." >&2
  head -40 "$out/libuv.out" "$out/libuv.err" >&2
  exit 1
fi
echo "   libuv: status 0, no diagnostic"
if [ "$gen_status" -gt 1 ]; then
  echo "FAILED: fa-check on gen.c exited with status $gen_status" >&2
  head -40 "$out/gen.out" "$out/gen.err" >&2
  exit 1
fi
if [ "$gen_diags" -ne 0 ]; then
  echo "   NOTE: $gen_diags diagnostic(s) on gen.c, which follows the" \
    "rules (see bench/out/check/gen.out)" >&2
else
  echo "   gen.c: no diagnostic"
fi
# A checker that reports nothing may not be looking: the same TU with one
# frame allocation in an async function added must give FA701.
cp "$gen" "$work/canary.c"
cat >>"$work/canary.c" <<'C'

FA_ASYNC int canary(fa_allocator_t *a);
FA_ASYNC int canary(fa_allocator_t *a) {
  char *p = fa_frame_alloc(a, 16, 1);
  return p != NULL;
}
C
set +e
(cd "$work" && "$fa_check" --all --format compact canary.c -- \
  "${gen_args[@]}") >"$out/canary.out" 2>&1
set -e
grep -q 'FA701' "$out/canary.out" || {
  echo "FAILED: fa-check found no FA701 in gen.c with a frame allocation" \
    "added to an FA_ASYNC function:" >&2
  head -20 "$out/canary.out" >&2
  exit 1
}
echo "   gen.c with a defect added: FA701 found"
# The reference must parse cleanly too, or the comparison means nothing.
(cd "$work" && gen_clang) >/dev/null 2>&1 || die "clang rejects gen.c"
(cd "$work" && uv_clang_j1) >/dev/null 2>&1 || die "clang rejects libuv"

# ---- Timing --------------------------------------------------------------
# run_n NAME N: runs command NAME N times; status 0 or 1 (diagnostics)
# is a normal end, anything else (a failure, a crash) is returned.
run_n() {
  local i status
  for ((i = 0; i < $2; i++)); do
    status=0
    (cd "$work" && "$1") || status=$?
    [ "$status" -le 1 ] || return "$status"
  done
}

# ms NAME: runs command NAME and prints its wall time and its CPU time
# (user and system, itself and its children) in milliseconds; fails the
# script when it fails or crashes. The CPU time is less sensitive to other
# work on a shared machine than the wall time. A command on the one
# generated TU takes about 0.1 s, close to the resolution of a shared
# machine: one sample of it is the mean of BENCH_CHECK_GEN_REPS runs back
# to back (default 10).
gen_reps=${BENCH_CHECK_GEN_REPS:-10}
ms() {
  local n=1 t TIMEFORMAT='%3R %3U %3S'
  [[ $1 != gen_* ]] || n=$gen_reps
  t=$({ time run_n "$1" "$n" >/dev/null 2>&1; } 2>&1) ||
    die "$1 failed or crashed during timing"
  awk -v n="$n" '{ printf "%d %d\n", $1 * 1000 / n, ($2 + $3) * 1000 / n }' \
    <<<"$t"
}

echo "== timing: 1 warm-up + $runs rounds of ${#cmds[@]} commands"
declare -A times cpu
for c in "${cmds[@]}"; do ms "$c" >/dev/null; done
for ((r = 1; r <= runs; r++)); do
  line="   round $r:"
  for c in "${cmds[@]}"; do
    read -r t u <<<"$(ms "$c")"
    times[$c]="${times[$c]:-} $t"
    cpu[$c]="${cpu[$c]:-} $u"
    line="$line $c=${t}ms"
  done
  echo "$line"
done

median() {
  tr ' ' '\n' <<<"$1" | grep . | sort -n |
    awk '{ a[NR] = $1 }
      END { print NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}

tsv=$out/check.tsv
{
  printf 'command\tmedian_ms\truns_ms\tmedian_cpu_ms\tcpu_runs_ms\n'
  for c in "${cmds[@]}"; do
    printf '%s\t%s\t%s\t%s\t%s\n' "$c" "$(median "${times[$c]}")" \
      "$(sed 's/^ //' <<<"${times[$c]}")" "$(median "${cpu[$c]}")" \
      "$(sed 's/^ //' <<<"${cpu[$c]}")"
  done
} >"$tsv"
{
  echo "date=$(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "commit=$(git -C "$root" rev-parse --short HEAD 2>/dev/null ||
    echo none)"
  echo "clang=$("$clang" --version | head -1)"
  echo "gen_lines=$gen_lines"
  echo "gen_diags=$gen_diags"
  echo "libuv=$uv_version"
  echo "libuv_tus=$uv_tus"
  echo "libuv_lines=$uv_lines"
  echo "libuv_diags=$uv_diags"
  echo "runs=$runs"
  echo "gen_reps=$gen_reps"
} >"$out/check.env"

awk -F'\t' 'NR > 1 { m[$1] = $2; u[$1] = $4 }
  END {
    printf "   gen.c:      clang %d ms, fa-check %d ms: %.2fx (goal <= 1.3x)\n",
      m["gen_clang"], m["gen_fa"], m["gen_fa"] / m["gen_clang"]
    printf "   libuv -j 1: clang %d ms, fa-check %d ms: %.2fx (goal <= 1.3x)\n",
      m["uv_clang_j1"], m["uv_fa_j1"], m["uv_fa_j1"] / m["uv_clang_j1"]
    printf "   libuv -j 2: clang %d ms, fa-check %d ms: %.2fx\n",
      m["uv_clang_j2"], m["uv_fa_j2"], m["uv_fa_j2"] / m["uv_clang_j2"]
    printf "   fa-check speed-up -j 2 over -j 1: %.2fx\n",
      m["uv_fa_j1"] / m["uv_fa_j2"]
    printf "   CPU time: gen.c %.2fx, libuv -j 1 %.2fx\n",
      u["gen_fa"] / u["gen_clang"], u["uv_fa_j1"] / u["uv_clang_j1"]
  }' "$tsv"

if [ -s "$bench/out/raw.tsv" ]; then
  bash "$bench/report.sh"
else
  echo "bench/check: no allocator results yet; run bench/run.sh to get" \
    "results.md with this section" >&2
fi

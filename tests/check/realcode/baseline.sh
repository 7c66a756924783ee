#!/usr/bin/env bash
# The baseline round trip on a real code base: a copy of libuv's sources
# (the Debian source package, as for run.sh) with three findings planted in
# two files (libuv_copy.sh), checked through its compile database (37
# translation units):
#   1. --write-baseline records exactly the three (exit 0);
#   2. --baseline reports nothing;
#   3. lines inserted above the planted code move every finding, and
#      --baseline still reports nothing;
#   4. a new finding is the only one reported (exit 1);
#   5. after one planted finding is fixed, --baseline-stale lists exactly
#      that one (exit 1).
# The runs share a result cache, so only the edited files are parsed again
# after the first.
# Environment: FA_CHECK, REALCODE_DIR as for run.sh.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../../.." && pwd)
fa_check=${FA_CHECK:-$root/build/tools/fa-check/fa-check}
work=${REALCODE_DIR:-$root/build/realcode}

die() {
  echo "baseline: FAILED: $*" >&2
  exit 1
}
[ -x "$fa_check" ] || die "no fa-check binary at $fa_check"
fa_check=$(cd "$(dirname "$fa_check")" && pwd)/$(basename "$fa_check")
mkdir -p "$work"
work=$(cd "$work" && pwd)

# The copy with three planted findings, and its compile database.
base=$(bash "$here/libuv_copy.sh" "$work/baseline") ||
  die "libuv: preparing the copy failed"
core=$base/libuv/src/unix/core.c
common=$base/libuv/src/uv-common.c

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
# run NAME ARGS...: fa-check over the copy, from the scratch directory.
run() {
  local name=$1
  shift
  status=0
  (cd "$scratch" && "$fa_check" --all -j2 -p "$base/db" --format compact \
    --extra-arg=-I"$root/include" --cache "$base/cache" "$@") \
    >"$base/$name.out" \
    2>"$base/$name.err" || status=$?
  if [ "$status" -gt 1 ] || grep -q 'Sanitizer\|runtime error:' "$base/$name.err"; then
    cat "$base/$name.out" "$base/$name.err" >&2
    die "$name: status $status"
  fi
}
findings() { grep -cE '\[FA[0-9]{3}\]$' "$base/$1.out" || true; }
expect() { # NAME STATUS COUNT WHAT
  if [ "$status" -ne "$2" ] || [ "$(findings "$1")" -ne "$3" ]; then
    cat "$base/$1.out" "$base/$1.err" >&2
    die "$1: $4 (status $status, $(findings "$1") findings)"
  fi
}

t0=$(date +%s)
run write --write-baseline "$base/baseline.json"
expect write 0 3 "--write-baseline: the three planted findings, exit 0"
[ "$(grep -c '"fingerprint"' "$base/baseline.json")" -eq 3 ] ||
  die "the baseline does not hold three findings"

run same --baseline "$base/baseline.json"
expect same 0 0 "--baseline on the same code reports nothing"

# Lines inserted above the planted code (at the top of both files).
for f in "$core" "$common"; do
  { printf '/* inserted */\n/* by */\n/* baseline.sh */\n'; cat "$f"; } >"$f.new"
  mv "$f.new" "$f"
done
run moved
expect moved 1 3 "the moved findings without a baseline"
grep -q "^$core:$(grep -n 'fa_planted_use(p);' "$core" | cut -d: -f1):" \
  "$base/moved.out" || die "the findings did not move"
run moved-base --baseline "$base/baseline.json"
expect moved-base 0 0 "moved findings keep their baseline match"

cat >>"$core" <<'C'
void fa_planted_new(fa_allocator_t *a);
void fa_planted_new(fa_allocator_t *a) {
  fa_begin_frame(a);
  const char *s = fa_frame_alloc(a, 8, 1);
  fa_end_frame(a);
  fa_planted_use(s + 1);
}
C
run new --baseline "$base/baseline.json"
line=$(grep -n 'fa_planted_use(s + 1);' "$core" | cut -d: -f1)
expect new 1 1 "only the new finding"
grep -qE "^$core:$line:[0-9]+: error: .*\[FA604\]$" "$base/new.out" ||
  die "new: the new FA604 is not at core.c:$line"

sed -i 's/char \*r = fa_frame_alloc(a, 16, 1);/char *r = fa_pool_alloc(a, 16);/' \
  "$common"
run stale --baseline "$base/baseline.json" --baseline-stale
if [ "$status" -ne 1 ] || [ "$(wc -l <"$base/stale.out")" -ne 1 ] ||
  ! grep -q 'uv-common.c:[0-9]*: note: fixed since the baseline: .*\[FA701\]$' \
    "$base/stale.out"; then
  cat "$base/stale.out" "$base/stale.err" >&2
  die "stale: the fixed FA701 is not the one stale entry (status $status)"
fi
echo "== baseline round trip on libuv: written, matched after lines moved," \
  "new finding reported, fixed one stale ($(($(date +%s) - t0)) s)"

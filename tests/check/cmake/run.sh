#!/bin/sh
# run.sh: fa-check in a consumer's build, against an installed framealloc.
#
#   run.sh PREFIX_DIR MODE WORK_DIR
#
# Copies the project beside this script to WORK_DIR with job.c planted with
# an FA702 (../fixes/task_copy.c), configures it against PREFIX_DIR (as
# installed by
# tests/install/run.sh) with FA_CHECK_MODE=MODE (function, tidy or tidy-p),
# and builds it: the build must fail and print the finding as the compiler
# would, with job.c's absolute path and the planted line. Then job.c gets
# the fix, by the installed `fa-check --fix`: the build must pass and the
# program run.
#
# Environment: CMAKE, CC, CMAKE_GENERATOR, FA_EXTRA_FLAGS as for
# tests/install/run.sh.
set -eu

if [ $# -ne 3 ]; then
  echo "usage: $0 PREFIX_DIR MODE WORK_DIR" >&2
  exit 2
fi
here=$(cd "$(dirname "$0")" && pwd)
prefix=$(cd "$1" && pwd)
mode=$2
work=$3
cmake=${CMAKE:-cmake}
extra=${FA_EXTRA_FLAGS:-}

fail() {
  echo "run.sh ($mode): FAILED: $*" >&2
  exit 1
}

rm -rf "$work"
mkdir -p "$work/src"
work=$(cd "$work" && pwd)
cp "$here/CMakeLists.txt" "$here/main.c" "$work/src/"
cp "$here/../fixes/task_copy.c" "$work/src/job.c"
line=$(grep -n 'FA_AWAIT' "$work/src/job.c" | cut -d: -f1)

"$cmake" -S "$work/src" -B "$work/build" -DCMAKE_PREFIX_PATH="$prefix" \
  -DFA_CHECK_MODE="$mode" -DCMAKE_C_COMPILER="${CC:-cc}" \
  -DCMAKE_C_FLAGS="$extra" -DCMAKE_EXE_LINKER_FLAGS="$extra" >/dev/null

echo "== $mode: the build with the planted FA702 must fail"
if "$cmake" --build "$work/build" >"$work/bad.log" 2>&1; then
  cat "$work/bad.log"
  fail "the build passed despite the planted FA702"
fi
cat "$work/bad.log"
grep -q "^$work/src/job.c:$line:[0-9]*: error: .*\[FA702\]" "$work/bad.log" ||
  fail "no 'job.c:$line:COL: error: ... [FA702]' line in the build's output"
[ ! -e "$work/build/level_loader" ] ||
  fail "level_loader was linked despite the finding"

echo "== $mode: the build after the fix must pass"
"$prefix/bin/fa-check" --fix "$work/src/job.c" -- -I"$prefix/include" ||
  fail "fa-check --fix did not fix job.c"
"$cmake" --build "$work/build" >"$work/good.log" 2>&1 ||
  { cat "$work/good.log"; fail "the build failed after the fix"; }
cat "$work/good.log"
if grep -q "FA70" "$work/good.log"; then
  fail "a finding after the fix"
fi
"$work/build/level_loader"

if [ "$mode" = function ]; then
  # The project's fa-check.toml is found from the source tree and used, and
  # a change to it runs the check again: a broken one fails the build.
  echo "== $mode: the project's fa-check.toml is used"
  printf '[lints]\nasync-safety = "sometimes"\n' >"$work/src/fa-check.toml"
  "$cmake" "$work/build" >/dev/null
  if "$cmake" --build "$work/build" >"$work/config.log" 2>&1; then
    cat "$work/config.log"
    fail "a broken fa-check.toml did not fail the check"
  fi
  grep -q "fa-check.toml:2: error" "$work/config.log" ||
    { cat "$work/config.log"; fail "no message about fa-check.toml"; }
  printf '[lints]\nasync-safety = "deny"\n' >"$work/src/fa-check.toml"
  "$cmake" --build "$work/build" >"$work/config.log" 2>&1 ||
    { cat "$work/config.log"; fail "the repaired fa-check.toml fails"; }
fi
echo "== $mode: passed"

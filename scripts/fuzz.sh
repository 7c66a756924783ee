#!/usr/bin/env bash
# Runs every libFuzzer target of the fuzz build for FUZZ_TIME seconds each.
#
#   FUZZ_BUILD  the fuzz build directory (default build-fuzz)
#   FUZZ_TIME   seconds per target (default 300; a third of it for the
#               Release flavour of a target, fuzz_NAME_release)
#   FUZZ_MERGE  1: merge the new inputs, minimised, into the corpus in the
#               repository afterwards (default 0: the repository is left
#               alone and new inputs stay in the build directory)
#   FUZZ_ONLY   a target name (e.g. fuzz_alloc): run that one only
#   FUZZ_ARGS   extra libFuzzer arguments
#
# Target fuzz_NAME reads its corpus from tests/fuzz/corpus/NAME/ (or, for
# the checker's fuzz_check_X, tests/fuzz/check/corpus/check_X/ or
# tests/fuzz/check/corpus/X/) and writes new
# inputs to FUZZ_BUILD/fuzz-work/NAME/. A crash leaves its input in
# FUZZ_BUILD/fuzz-work/NAME/crash-*, ends this script with status 1 and is
# reproduced by running the target on that file.
set -u
cd "$(dirname "$0")/.."
build=${FUZZ_BUILD:-build-fuzz}
time=${FUZZ_TIME:-300}
merge=${FUZZ_MERGE:-0}

if [ ! -d "$build" ]; then
  echo "fuzz.sh: no fuzz build in $build (run make fuzz)" >&2
  exit 2
fi
mapfile -t targets < <(find "$build" -type f -perm -u+x -name 'fuzz_*' \
  ! -path '*/CMakeFiles/*' | sort)
if [ "${#targets[@]}" -eq 0 ]; then
  echo "fuzz.sh: no fuzz_* target in $build" >&2
  exit 2
fi

status=0
for exe in "${targets[@]}"; do
  target=$(basename "$exe")
  if [ -n "${FUZZ_ONLY:-}" ] && [ "$FUZZ_ONLY" != "$target" ]; then
    continue
  fi
  name=${target#fuzz_}
  corpus=tests/fuzz/corpus/$name
  # A Release flavour (fuzz_X_release) reads X's corpus, for a third of the
  # time: it runs the same operations on other builds of the library.
  t=$time
  if [ "${name%_release}" != "$name" ]; then
    corpus=tests/fuzz/corpus/${name%_release}
    t=$(( (time + 2) / 3 ))
  fi
  for alt in "tests/fuzz/check/corpus/$name" \
    "tests/fuzz/check/corpus/${name#check_}"; do
    if [ ! -d "$corpus" ] && [ -d "$alt" ]; then
      corpus=$alt
    fi
  done
  work=$build/fuzz-work/$name
  mkdir -p "$work/new"
  seeds=()
  [ -d "$corpus" ] && seeds+=("$corpus")
  echo "== $target: ${t}s, corpus ${corpus}"
  # New inputs go to $work/new (first directory); the repository corpus is
  # only read. Leaks are checked by the targets themselves where it matters.
  # shellcheck disable=SC2086
  "$exe" -max_total_time="$t" -timeout=30 -rss_limit_mb=4096 \
    -print_final_stats=1 -artifact_prefix="$work/" ${FUZZ_ARGS:-} \
    "$work/new" "${seeds[@]}" 2>&1 | tee "$work/log.txt" |
    grep -E '^(#[0-9]+\s+(INITED|DONE)|stat::|==[0-9]+==ERROR|SUMMARY|.*invariant broken|fuzz_alloc: [0-9]+ inputs)' 
  rc=${PIPESTATUS[0]}
  if [ "$rc" -ne 0 ]; then
    echo "== $target FAILED (status $rc); inputs: $work/crash-* $work/timeout-*" \
      "$work/oom-*; log: $work/log.txt" >&2
    status=1
    continue
  fi
  if [ "$merge" = 1 ]; then
    mkdir -p "$corpus"
    echo "== $target: merging new inputs into $corpus (minimised)"
    "$exe" -merge=1 -timeout=30 -rss_limit_mb=4096 "$corpus" "$work/new" \
      >"$work/merge.txt" 2>&1 || { echo "merge failed: $work/merge.txt" >&2; status=1; }
  fi
done
exit $status

#!/bin/sh
# run.sh: builds the consumer project beside this script twice, embedding
# framealloc's source tree with add_subdirectory and with FetchContent,
# and runs what it built.
#
#   run.sh SOURCE_DIR WORK_DIR
#
# Environment: CMAKE (default cmake), CC, CMAKE_GENERATOR (as CMake reads
# them). Exits nonzero at the first failure.
set -eu

if [ $# -ne 2 ]; then
  echo "usage: $0 SOURCE_DIR WORK_DIR" >&2
  exit 2
fi
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$1" && pwd)
work=$2
cmake=${CMAKE:-cmake}
rm -rf "$work"
mkdir -p "$work"

for mode in subdirectory fetchcontent; do
  printf '\n== %s\n' "$mode"
  "$cmake" -S "$here" -B "$work/$mode" -DFA_EMBED=$mode \
    -DFA_SOURCE_DIR="$src" -DFETCHCONTENT_SOURCE_DIR_FRAMEALLOC="$src" \
    -DCMAKE_BUILD_TYPE=Release ${CC:+-DCMAKE_C_COMPILER="$CC"} \
    >"$work/$mode.log" 2>&1 || {
    cat "$work/$mode.log"
    exit 1
  }
  # The one-line summary names what the embedded project builds.
  grep 'framealloc [0-9.]*: building' "$work/$mode.log"
  "$cmake" --build "$work/$mode" -j 2 >>"$work/$mode.log" 2>&1 || {
    cat "$work/$mode.log"
    exit 1
  }
  for exe in embed_consumer embed_consumer_static embed_consumer_uv; do
    if [ -x "$work/$mode/$exe" ]; then
      "$work/$mode/$exe"
    fi
  done
done
printf '\n== both ways of embedding built and ran\n'

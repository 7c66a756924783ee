#!/usr/bin/env bash
# Prepares the second input of the fa-check benchmark: libuv's own sources,
# from the Debian source package of the libuv1 installed here (bookworm),
# configured with CMake so that compile_commands.json lists every
# translation unit of the library (tests and benchmarks left out). The
# compiler named in the database is clang, so that the same commands serve
# fa-check -p and the clang -fsyntax-only reference.
#
# Adds a deb-src entry for bookworm when apt has none (needs root), then
# runs `apt-get source libuv1` once; later runs reuse the unpacked tree
# (scripts/apt-source.sh).
# Prints the build directory (the one holding compile_commands.json).
#
# Environment: BENCH_CHECK_OUT (default bench/out/check), CLANG.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
out=${BENCH_CHECK_OUT:-$(dirname "$here")/out/check}
clang=${CLANG:-$(command -v clang-14 || command -v clang)}
src_root=$out/libuv-src
build=$out/libuv-build

say() { echo "libuv.sh: $*" >&2; }

# shellcheck source=scripts/apt-source.sh
. "$(dirname "$(dirname "$here")")/scripts/apt-source.sh"

mkdir -p "$out"
tree=$(apt_source_fetch libuv1 "$src_root" "$out/apt.log")

if [ ! -s "$build/compile_commands.json" ]; then
  say "configuring $(basename "$tree") with CMake ($clang)"
  cmake -S "$tree" -B "$build" -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_C_COMPILER="$clang" -DCMAKE_EXPORT_COMPILE_COMMANDS=ON \
    -DLIBUV_BUILD_TESTS=OFF -DLIBUV_BUILD_BENCH=OFF >"$out/cmake.log" 2>&1 ||
    {
      say "cmake failed; see ${out}/cmake.log"
      exit 1
    }
fi
echo "$build"

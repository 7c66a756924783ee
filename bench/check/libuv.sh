#!/usr/bin/env bash
# Prepares the second input of the fa-check benchmark: libuv's own sources,
# from the Debian source package of the libuv1 installed here (bookworm),
# configured with CMake so that compile_commands.json lists every
# translation unit of the library (tests and benchmarks left out). The
# compiler named in the database is clang, so that the same commands serve
# fa-check -p and the clang -fsyntax-only reference.
#
# Adds a deb-src entry for bookworm when apt has none (needs root), then
# runs `apt-get source libuv1` once; later runs reuse the unpacked tree.
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

# True when apt knows a source index for some suite (a deb-src line in the
# one-line format, or "Types: ... deb-src" in a deb822 .sources file).
have_deb_src() {
  grep -qsE '^[[:space:]]*deb-src[[:space:]]' /etc/apt/sources.list \
    /etc/apt/sources.list.d/*.list && return 0
  grep -qsE '^Types:.*deb-src' /etc/apt/sources.list.d/*.sources
}

add_deb_src() {
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo=sudo
  say "adding the bookworm source index to apt"
  $sudo tee /etc/apt/sources.list.d/bookworm-src.sources >/dev/null <<'SRC'
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb-src
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
  $sudo apt-get update -qq
}

mkdir -p "$out"
tree=$(find "$src_root" -maxdepth 1 -mindepth 1 -type d -name 'libuv1-*' \
  2>/dev/null | sort | tail -1 || true)
if [ -z "$tree" ]; then
  have_deb_src || add_deb_src
  rm -rf "$src_root" && mkdir -p "$src_root"
  say "apt-get source libuv1 into ${src_root}"
  # As root apt cannot hand the download to its sandbox user in a
  # directory it does not own; that warning is harmless.
  (cd "$src_root" && apt-get source -qq libuv1 >/dev/null 2>"$out/apt.log") ||
    {
      say "apt-get source failed:"
      cat "$out/apt.log" >&2
      exit 1
    }
  tree=$(find "$src_root" -maxdepth 1 -mindepth 1 -type d -name 'libuv1-*' |
    sort | tail -1)
  [ -n "$tree" ] || {
    say "no libuv1-* directory after apt-get source"
    exit 1
  }
fi

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

#!/bin/sh
# run.sh: installs framealloc from a build tree and builds consumers of it.
#
#   run.sh PREFIX_DIR BUILD_DIR
#
# Installs BUILD_DIR (a configured and built framealloc tree) into the empty
# directory PREFIX_DIR with `cmake --install`, then
#   1. configures, builds and runs the consumer project beside this script
#      with CMAKE_PREFIX_PATH=PREFIX_DIR: find_package(framealloc), against
#      the shared and the static library;
#      and a C++ program (main.cpp) against framealloc::cpp;
#   2. builds and runs the same programs, C and C++, with the flags of
#      `pkg-config --cflags --libs framealloc`, PKG_CONFIG_PATH pointing into
#      PREFIX_DIR.
# When the installation has the libuv integration (framealloc-uv.pc), the
# CMake consumer must find framealloc::uv and builds uv_main.c against the
# shared and the static library too, and step 2 also builds uv_main.c with
# the flags of `pkg-config framealloc-uv`. Without it, only the core is
# tested.
# Build trees go to PREFIX_DIR.consumer/. Exits nonzero at the first failure.
#
# Environment: CMAKE (default cmake), CC (default cc), CXX (default c++),
# CMAKE_GENERATOR (as
# CMake reads it), and FA_EXTRA_FLAGS: flags the library was built with that
# its consumers must use too, such as -fsanitize=address.
set -eu

if [ $# -ne 2 ]; then
  echo "usage: $0 PREFIX_DIR BUILD_DIR" >&2
  exit 2
fi
here=$(cd "$(dirname "$0")" && pwd)
prefix=$1
build=$2
cmake=${CMAKE:-cmake}
cc=${CC:-cc}
cxx=${CXX:-c++}
extra=${FA_EXTRA_FLAGS:-}
work=$prefix.consumer

step() { printf '\n== %s\n' "$*"; }

rm -rf "$prefix" "$work"
mkdir -p "$prefix" "$work"
prefix=$(cd "$prefix" && pwd)

step "install $build into $prefix"
"$cmake" --install "$build" --prefix "$prefix"

# The library directory is whatever GNUInstallDirs chose (lib, lib64,
# lib/<multiarch>): find it rather than guess.
pc=$(find "$prefix" -name framealloc.pc | head -n 1)
so=$(find "$prefix" -name 'libframealloc.so' | head -n 1)
for f in "$prefix/include/framealloc.h" "$prefix/include/framealloc.hpp" \
  "$prefix/include/framealloc/timeline.h" "$prefix/include/framealloc/tracy.h" \
  "$prefix/bin/fa_trace.py" "$prefix/bin/fa-plot" "$pc" "$so"; do
  if [ -z "$f" ] || [ ! -f "$f" ]; then
    echo "run.sh: the installation lacks $f (a header, tool, .pc or .so)" >&2
    exit 1
  fi
done
libdir=$(dirname "$so")
uvpc=$(find "$prefix" -name framealloc-uv.pc | head -n 1)
if [ -n "$uvpc" ]; then
  expect_uv=ON
  echo "the installation has framealloc::uv"
else
  expect_uv=OFF
  echo "the installation has no framealloc::uv (built without libuv)"
fi

step "CMake consumer: find_package(framealloc)"
"$cmake" -S "$here" -B "$work/cmake" \
  -DCMAKE_PREFIX_PATH="$prefix" \
  -DFA_EXPECT_PREFIX="$prefix" \
  -DFA_EXPECT_UV=$expect_uv \
  -DCMAKE_C_COMPILER="$cc" \
  -DCMAKE_CXX_COMPILER="$cxx" \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_C_FLAGS="$extra" \
  -DCMAKE_CXX_FLAGS="$extra" \
  -DCMAKE_EXE_LINKER_FLAGS="$extra"
"$cmake" --build "$work/cmake"
"$work/cmake/consumer_shared"
"$work/cmake/consumer_static"
"$work/cmake/consumer_cpp"
if [ "$expect_uv" = ON ]; then
  "$work/cmake/consumer_uv_shared"
  "$work/cmake/consumer_uv_static"
fi

step "pkg-config consumer"
PKG_CONFIG_PATH=$(dirname "$pc")${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}
export PKG_CONFIG_PATH
pkgconf=pkg-config
# The .pc file finds its prefix from its own place (${pcfiledir}); should
# it name another prefix than the one installed to, point pkg-config at it.
if [ "$(pkg-config --variable=prefix framealloc)" != "$prefix" ]; then
  echo "note: framealloc.pc names prefix $(pkg-config --variable=prefix \
framealloc); using --define-variable=prefix=$prefix"
  pkgconf="pkg-config --define-variable=prefix=$prefix"
fi
flags=$($pkgconf --cflags --libs framealloc)
echo "pkg-config --cflags --libs framealloc: $flags"
# shellcheck disable=SC2086 # the flag lists are meant to be split
"$cc" -std=c11 -Wall -Wextra -Wpedantic -Werror $extra "$here/main.c" \
  -o "$work/consumer_pkgconfig" $flags
LD_LIBRARY_PATH=$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH} \
  "$work/consumer_pkgconfig"
# shellcheck disable=SC2086 # the flag lists are meant to be split
"$cxx" -std=c++17 -Wall -Wextra -Wpedantic -Werror $extra "$here/main.cpp" \
  -o "$work/consumer_cpp_pkgconfig" $flags
LD_LIBRARY_PATH=$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH} \
  "$work/consumer_cpp_pkgconfig"

if [ "$expect_uv" = ON ]; then
  step "pkg-config consumer of framealloc-uv"
  flags=$($pkgconf --cflags --libs framealloc-uv)
  echo "pkg-config --cflags --libs framealloc-uv: $flags"
  # shellcheck disable=SC2086 # the flag lists are meant to be split
  "$cc" -std=c11 -Wall -Wextra -Wpedantic -Werror $extra "$here/uv_main.c" \
    -o "$work/consumer_uv_pkgconfig" $flags
  LD_LIBRARY_PATH=$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH} \
    "$work/consumer_uv_pkgconfig"
fi

step "all consumers ran"

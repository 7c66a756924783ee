#!/usr/bin/env bash
# Line and region coverage of src/ by the allocator fuzzer's corpus, as
# llvm-cov reports it: a clang build with -fprofile-instr-generate
# -fcoverage-mapping and the debug checks of the fuzz build (FA_DEBUG=2,
# no sanitizer), whose replay driver runs every input of
# tests/fuzz/corpus/alloc and tests/fuzz/regress/alloc.
#   COV_BUILD  the build directory (default build-fuzz-cov)
#   COV_DIRS   the input directories (default: corpus and regression inputs)
set -eu
cd "$(dirname "$0")/.."
build=${COV_BUILD:-build-fuzz-cov}
dirs=${COV_DIRS:-tests/fuzz/corpus/alloc tests/fuzz/regress/alloc}
llvm=/usr/lib/llvm-14/bin
flags="-fprofile-instr-generate -fcoverage-mapping"
CC=clang cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Debug -DFA_FUZZ=ON \
  -DFA_DEBUG=2 -DFA_BUILD_TESTS=OFF -DFA_BUILD_EXAMPLES=OFF -DFA_BUILD_UV=OFF \
  -DFA_BUILD_CHECK=OFF -DCMAKE_C_FLAGS="$flags" \
  -DCMAKE_EXE_LINKER_FLAGS="$flags" -DCMAKE_SHARED_LINKER_FLAGS="$flags" \
  >/dev/null
cmake --build "$build" --target fa_replay_alloc -j 2 >/dev/null
rm -f "$build"/cov-*.profraw
# shellcheck disable=SC2086
LLVM_PROFILE_FILE="$build/cov-%p.profraw" \
  "$build/tests/fuzz/fa_replay_alloc" $dirs | tail -1
"$llvm/llvm-profdata" merge -o "$build/cov.profdata" "$build"/cov-*.profraw
lib=$(find "$build/src" -name 'libframealloc.so*' -type f | head -1)
"$llvm/llvm-cov" report "$build/tests/fuzz/fa_replay_alloc" \
  -object "$lib" -instr-profile="$build/cov.profdata" \
  "$(pwd)/src"

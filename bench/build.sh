#!/usr/bin/env bash
# Configures and builds fa-bench in the benchmark's own Release build
# (FA_DEBUG=0, no sanitizer, no Valgrind annotations); used by run.sh and
# callgrind.sh. BENCH_BUILD_DIR overrides the directory (build-bench).
# Arguments name other targets to build instead (check/run.sh builds
# fa-check here).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
build=${BENCH_BUILD_DIR:-$root/build-bench}
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(fa-bench)
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DFA_BUILD_BENCH=ON \
  -DFA_BUILD_TESTS=OFF -DFA_BUILD_EXAMPLES=OFF -DFA_DEBUG=0 -DFA_SANITIZE= \
  -DFA_VALGRIND=OFF >/dev/null
cmake --build "$build" --target "${targets[@]}" -j 2 >/dev/null

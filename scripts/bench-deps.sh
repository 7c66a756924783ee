#!/usr/bin/env bash
# Installs what the benchmark suite (bench/run.sh) needs beyond the build
# tools: the peer allocators and libraries it compares against, gnuplot for
# the chart and valgrind for the instruction counts. Idempotent and
# non-interactive: only missing packages are installed, and the package
# lists are updated once, only then (see ensure-packages.sh).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

bash "$here/ensure-packages.sh" \
  build-essential cmake pkg-config \
  libmimalloc-dev libjemalloc-dev libgoogle-perftools-dev \
  libapr1-dev libtalloc-dev \
  gnuplot-nox valgrind

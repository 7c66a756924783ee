#!/usr/bin/env bash
# Installs what the benchmark suites need beyond the build tools: for
# bench/run.sh the peer allocators and libraries it compares against,
# gnuplot for the chart and valgrind for the instruction counts; for
# bench/check/run.sh clang (the -fsyntax-only reference, the version of
# libclang that fa-check uses), libuv's headers, python3 and dpkg-dev (for
# `apt-get source libuv1`; bench/check/libuv.sh adds the deb-src entry it
# needs). Idempotent and non-interactive: only missing packages are
# installed, and the package lists are updated once, only then (see
# ensure-packages.sh).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

bash "$here/ensure-packages.sh" \
  build-essential cmake pkg-config \
  libmimalloc-dev libjemalloc-dev libgoogle-perftools-dev \
  libapr1-dev libtalloc-dev \
  gnuplot-nox valgrind \
  clang-14 libclang-14-dev libjansson-dev libuv1-dev python3 dpkg-dev

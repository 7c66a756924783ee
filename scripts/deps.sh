#!/usr/bin/env bash
# What building and testing framealloc needs on Debian 12.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bash "$here/ensure-packages.sh" cmake make gcc g++ pkgconf python3 valgrind \
  libclang-14-dev libjansson-dev python3-jsonschema python3-yaml libuv1-dev \
  clang clang-tools-14 libclang-rt-14-dev tcl dpkg-dev python3-matplotlib

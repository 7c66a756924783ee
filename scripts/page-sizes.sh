#!/usr/bin/env bash
# Runs the core and task test suites of a build at 4, 16 and 64 KiB pages.
# Two ways, both set each time: a host build configured with
# -DFA_PAGE_SIZE_OVERRIDE=ON believes in the page size FA_TEST_PAGE_SIZE
# gives (src/os_posix.c); an AArch64 build runs under qemu-aarch64, whose
# guest really has the pages QEMU_PAGESIZE gives (sysconf and mmap
# alignment). FA_EXPECT_PAGE_SIZE makes test_frame check which size the
# run saw.
#
#   scripts/page-sizes.sh BUILD_DIR [PAGE_SIZE...]
set -euo pipefail
build=${1:?usage: page-sizes.sh BUILD_DIR [PAGE_SIZE...]}
shift
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(4096 16384 65536)
suites='^test_(alloc|frame|frame_static|pool|heap|threads|stats|fault|steady|hostile|fixed|task)$'
for size in "${sizes[@]}"; do
  echo "== page size $size: $build"
  (cd "$build" && FA_TEST_PAGE_SIZE=$size QEMU_PAGESIZE=$size \
    FA_EXPECT_PAGE_SIZE=$size ctest --output-on-failure \
    -j "${JOBS:-2}" -R "$suites")
done

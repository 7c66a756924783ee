# Thin front end over CMake. `make demo` and `make test` set up everything a
# fresh Debian 12 machine lacks (through scripts/), then build and run.

JOBS      ?= $(shell nproc 2>/dev/null || echo 2)
FA_WERROR ?= OFF
CMAKE_ARGS = -DFA_WERROR=$(FA_WERROR) -DFA_BUILD_TESTS=ON -DFA_BUILD_EXAMPLES=ON \
             -DFA_BUILD_CHECK=ON
CTEST      = ctest --output-on-failure -j $(JOBS)
space     := $(subst ,, )

.PHONY: all deps build demo test test-release test-tsan test-expensive \
        test-asan test-real-code test-memcheck test-fuzz fuzz fuzz-build soak \
        test-game bench bench-check bench-cache bench-game format clean \
        test-fixed test-pages test-aarch64 test-windows bench-windows

all: build

deps:
	@bash scripts/deps.sh

build: deps
	cmake -S . -B build -DCMAKE_BUILD_TYPE=Release $(CMAKE_ARGS) >/dev/null
	cmake --build build -j $(JOBS)

# The main example (a game loop streaming its assets through libuv), traced
# (FA_TRACE) and the trace summarised and drawn (docs/profiling.md), the
# others, then fa-check over them: async_bad.c is wrong on purpose, so the
# checker must report it (exit status 1) and nothing else.
DEMO_TRACE = build/uv_game_loop.trace.json
DEMO_SVG   = build/uv_game_loop.svg
demo: build
	@echo "== uv_game_loop: frame scratch memory, sprites streamed through libuv's thread pool"
	@rm -f $(DEMO_TRACE) $(DEMO_SVG)
	FA_TRACE=$(DEMO_TRACE) ./build/examples/uv_game_loop
	@if [ -s $(DEMO_TRACE) ]; then \
	  echo "== its trace, summarised and drawn"; \
	  python3 tools/fa_trace.py summary $(DEMO_TRACE) && \
	  tools/fa-plot -o $(DEMO_SVG) $(DEMO_TRACE) && \
	  echo "trace: $(DEMO_TRACE) (open it in https://ui.perfetto.dev," \
	    "\"Open trace file\", or in chrome://tracing)" && \
	  echo "plot:  $(DEMO_SVG) (any web browser)"; \
	else \
	  echo "== no trace: this build of framealloc does not write" \
	    "FA_TRACE files, so there is nothing to plot"; \
	fi
	./build/examples/game_loop
	./build/examples/task_jobs
	@echo "== cpp_game_loop: the same loop in C++ (<framealloc.hpp>), assets loaded on std::threads"
	./build/examples/cpp_game_loop
	@echo "== fa-check over examples/ (async_bad.c is wrong on purpose)"
	./build/tools/fa-check/fa-check -p build examples/*.c examples/*.cpp; test $$? -eq 1

# Release (inline fast paths), the threaded tests under TSan, the suite with
# the expensive validators (FA_DEBUG=3), the whole suite under ASan+UBSan
# with debug checks, the core and task suites at 16 and 64 KiB pages (host
# override, then AArch64 under qemu) and on Windows (MinGW-w64, Wine),
# fa-check on real code (libuv, Lua, SQLite, Box2D, fmt), chocolate-doom on
# framealloc against its own zone, the core tests under Valgrind memcheck,
# then every fuzz target for FUZZ_SMOKE seconds (in CI and locally alike);
# CTest's summary comes before the last four.
test: deps test-release test-tsan test-expensive test-asan test-pages \
      test-aarch64 test-windows test-real-code test-game test-memcheck \
      test-fuzz

test-release:
	cmake -S . -B build -DCMAKE_BUILD_TYPE=Release $(CMAKE_ARGS) >/dev/null
	cmake --build build -j $(JOBS)
	cd build && $(CTEST)

# TSan runs the threaded tests 5 to 15 times slower (test_fault creates an
# allocator per injected fault), so each test gets a longer timeout there.
test-tsan:
	cmake -S . -B build-tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DFA_SANITIZE=thread -DFA_TEST_TIMEOUT=360 $(CMAKE_ARGS) >/dev/null
	cmake --build build-tsan -j $(JOBS)
	cd build-tsan && $(CTEST) -L threads

test-expensive:
	cmake -S . -B build-debug3 -DCMAKE_BUILD_TYPE=Debug -DFA_DEBUG=3 \
	  $(CMAKE_ARGS) >/dev/null
	cmake --build build-debug3 -j $(JOBS)
	cd build-debug3 && $(CTEST)

test-asan:
	cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DFA_DEBUG=2 \
	  -DFA_SANITIZE=address $(CMAKE_ARGS) >/dev/null
	cmake --build build-asan -j $(JOBS)
	cd build-asan && $(CTEST)

# The fixed-region memory source (test_fixed) in the Release, ASan+UBSan
# (FA_DEBUG=2) and FA_DEBUG=3 builds; test-release, test-asan and
# test-expensive run it too, so `make test` does not need this target.
test-fixed:
	cmake -S . -B build -DCMAKE_BUILD_TYPE=Release $(CMAKE_ARGS) >/dev/null
	cmake --build build -j $(JOBS) --target test_fixed
	cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DFA_DEBUG=2 \
	  -DFA_SANITIZE=address $(CMAKE_ARGS) >/dev/null
	cmake --build build-asan -j $(JOBS) --target test_fixed
	cmake -S . -B build-debug3 -DCMAKE_BUILD_TYPE=Debug -DFA_DEBUG=3 \
	  $(CMAKE_ARGS) >/dev/null
	cmake --build build-debug3 -j $(JOBS) --target test_fixed
	cd build && $(CTEST) -R '^test_fixed$$'
	cd build-asan && $(CTEST) -R '^test_fixed$$'
	cd build-debug3 && $(CTEST) -R '^test_fixed$$'

# The core and task suites at 4, 16 and 64 KiB pages (AArch64's sizes), on
# any host: builds with FA_PAGE_SIZE_OVERRIDE take the page size from
# FA_TEST_PAGE_SIZE. Release, then ASan+UBSan with debug checks.
PAGE_TESTS = --target test_alloc test_frame test_frame_static test_pool \
  test_heap test_threads test_stats test_fault test_steady test_hostile \
  test_fixed test_task
test-pages:
	cmake -S . -B build-pages -DCMAKE_BUILD_TYPE=Release \
	  -DFA_PAGE_SIZE_OVERRIDE=ON -DFA_WERROR=$(FA_WERROR) \
	  -DFA_BUILD_TESTS=ON -DFA_BUILD_EXAMPLES=OFF -DFA_BUILD_CHECK=OFF \
	  -DFA_BUILD_UV=OFF >/dev/null
	cmake --build build-pages -j $(JOBS) $(PAGE_TESTS)
	bash scripts/page-sizes.sh build-pages
	cmake -S . -B build-pages-asan -DCMAKE_BUILD_TYPE=Debug -DFA_DEBUG=2 \
	  -DFA_SANITIZE=address -DFA_PAGE_SIZE_OVERRIDE=ON \
	  -DFA_WERROR=$(FA_WERROR) -DFA_BUILD_TESTS=ON -DFA_BUILD_EXAMPLES=OFF \
	  -DFA_BUILD_CHECK=OFF -DFA_BUILD_UV=OFF >/dev/null
	cmake --build build-pages-asan -j $(JOBS) $(PAGE_TESTS)
	bash scripts/page-sizes.sh build-pages-asan

# The core and task suites cross-built for AArch64 Linux and run under
# qemu-aarch64 with 4, 16 and 64 KiB guest pages (QEMU_PAGESIZE). qemu runs
# guest atomics with the host's (x86-64) ordering: weak memory ordering is
# not tested here (docs/design.md, "Platforms").
test-aarch64:
	@bash scripts/ensure-packages.sh gcc-aarch64-linux-gnu \
	  libc6-dev-arm64-cross qemu-user
	cmake -S . -B build-aarch64 -DCMAKE_BUILD_TYPE=Release \
	  -DCMAKE_TOOLCHAIN_FILE=cmake/toolchains/aarch64-linux-gnu.cmake \
	  -DFA_WERROR=$(FA_WERROR) -DFA_BUILD_TESTS=ON -DFA_BUILD_EXAMPLES=OFF \
	  -DFA_BUILD_CHECK=OFF -DFA_BUILD_UV=OFF >/dev/null
	cmake --build build-aarch64 -j $(JOBS) $(PAGE_TESTS)
	bash scripts/page-sizes.sh build-aarch64

# The core and task suites cross-built for 64-bit Windows with MinGW-w64
# and run under Wine (its prefix in the build directory), test_alloc's
# strict-mode aborts in child processes, framealloc inside a DLL
# (test_dll), and the public headers in MSVC mode, framealloc.hpp included
# (test_msvc_headers, clang over MinGW's C++ headers).
WIN_TESTS = test_alloc test_dll test_fault test_fixed test_frame \
  test_frame_static test_heap test_hostile test_pool test_stats test_steady \
  test_task test_threads
test-windows:
	@bash scripts/ensure-packages.sh gcc-mingw-w64-x86-64 \
	  g++-mingw-w64-x86-64 wine64 clang
	cmake -S . -B build-windows -DCMAKE_BUILD_TYPE=Release \
	  -DCMAKE_TOOLCHAIN_FILE=cmake/toolchains/x86_64-w64-mingw32.cmake \
	  -DFA_WERROR=$(FA_WERROR) -DFA_BUILD_TESTS=ON -DFA_BUILD_EXAMPLES=OFF \
	  -DFA_BUILD_CHECK=OFF -DFA_BUILD_UV=OFF >/dev/null
	cmake --build build-windows -j $(JOBS) --target $(WIN_TESTS)
	cd build-windows && WINEPREFIX=$(CURDIR)/build-windows/wine \
	  FA_MSVC_HPP=required WINEDEBUG=-all $(CTEST) \
	  -R '^($(subst $(space),|,$(WIN_TESTS) test_msvc_headers))$$'

# W1 and W2 cross-built with MinGW-w64 and run under Wine against their
# naive references (bench/windows.sh; not part of make test).
bench-windows:
	@bash scripts/ensure-packages.sh gcc-mingw-w64-x86-64 wine64
	bash bench/windows.sh

# fa-check (Release) on real code, the Debian source packages of libuv,
# Lua 5.4, SQLite (C), Box2D and fmt (C++) through their compile databases: no crash, no
# diagnostic, and a defect planted in each found; then a baseline round trip
# on libuv (tests/check/realcode/).
test-real-code:
	cmake -S . -B build -DCMAKE_BUILD_TYPE=Release $(CMAKE_ARGS) >/dev/null
	cmake --build build -j $(JOBS) --target fa-check
	bash tests/check/realcode/run.sh
	bash tests/check/realcode/baseline.sh

# chocolate-doom (Debian source) with its zone memory on framealloc: every
# Freedoom demo plays identically to the stock zone, a broken purge is
# caught, ASan+UBSan and fa-check are clean (docs/case-study-doom.md).
test-game:
	cmake -S . -B build -DCMAKE_BUILD_TYPE=Release $(CMAKE_ARGS) >/dev/null
	cmake --build build -j $(JOBS) --target fa-check
	FA_WERROR=$(FA_WERROR) bash integrations/chocolate-doom/run.sh test

# Its timedemo speed and memory against the stock zone and z_native.c.
bench-game:
	FA_WERROR=$(FA_WERROR) bash integrations/chocolate-doom/run.sh bench

bench:
	@bash scripts/bench-deps.sh
	bash bench/run.sh
	bash bench/cpp/run.sh

# The core tests under Valgrind memcheck, on a Release build that tells
# memcheck what the allocator knows (scripts/memcheck.py says which tests).
test-memcheck:
	cmake -S . -B build-vg -DCMAKE_BUILD_TYPE=Release -DFA_VALGRIND=ON \
	  -DFA_WERROR=$(FA_WERROR) -DFA_BUILD_TESTS=ON -DFA_BUILD_EXAMPLES=OFF \
	  -DFA_BUILD_CHECK=OFF >/dev/null
	cmake --build build-vg -j $(JOBS)
	python3 scripts/memcheck.py build-vg

# The libFuzzer targets: clang, ASan+UBSan, debug checks (docs/reliability.md).
FUZZ_TIME  ?= 300
FUZZ_SMOKE ?= 30
fuzz-build: deps
	CC=clang cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=Debug -DFA_FUZZ=ON \
	  -DFA_SANITIZE=address -DFA_DEBUG=2 -DFA_WERROR=$(FA_WERROR) \
	  -DFA_BUILD_TESTS=OFF -DFA_BUILD_EXAMPLES=OFF -DFA_BUILD_UV=OFF \
	  -DFA_BUILD_CHECK=ON >/dev/null
	cmake --build build-fuzz -j $(JOBS)

# Every target for FUZZ_TIME seconds; FUZZ_MERGE=1 merges what is new into
# the corpus in the repository.
fuzz: fuzz-build
	FUZZ_TIME=$(FUZZ_TIME) bash scripts/fuzz.sh

test-fuzz: fuzz-build
	FUZZ_TIME=$(FUZZ_SMOKE) FUZZ_MERGE=0 bash scripts/fuzz.sh

# The multi-threaded stress test for SOAK_SECONDS on a random seed (printed
# first; a failed round prints the seed that repeats it). Not part of test.
SOAK_SECONDS ?= 600
SOAK_SEED    ?= random
soak:
	cmake -S . -B build -DCMAKE_BUILD_TYPE=Release $(CMAKE_ARGS) >/dev/null
	cmake --build build -j $(JOBS) --target test_stress
	./build/tests/test_stress $(SOAK_SEED) $(SOAK_SECONDS)

# fa-check's speed against clang -fsyntax-only (a generated TU and libuv).
bench-check:
	@bash scripts/bench-deps.sh
	bash bench/check/run.sh

# fa-check's result cache on libuv: cold against warm, and one header changed.
bench-cache:
	cmake -S . -B build -DCMAKE_BUILD_TYPE=Release $(CMAKE_ARGS) >/dev/null
	cmake --build build -j $(JOBS) --target fa-check
	bash bench/check/cache.sh

format:
	clang-format -i include/*.h include/framealloc/*.h src/*.c src/*.h \
	  tests/*.c tests/*.h tests/fuzz/*.c tests/fuzz/*.h examples/*.c bench/*.c \
	  bench/*.h include/*.hpp tests/*.cpp tests/install/*.cpp examples/*.cpp \
	  bench/cpp/*.cpp integrations/chocolate-doom/*.c 2>/dev/null || true

clean:
	rm -rf build build-tsan build-debug3 build-asan build-bench build-vg \
	  build-fuzz build-pages build-pages-asan \
	  build-aarch64 build-windows

#!/bin/sh
# cpp_compilers.sh: tests/test_cpp.cpp with more compilers and standards.
#
#   cpp_compilers.sh SOURCE_DIR LIB_DIR WORK_DIR
#
# Builds test_cpp.cpp against the headers of SOURCE_DIR and the
# libframealloc.so in LIB_DIR as C++20 with $CXX (the build's compiler,
# which builds it as C++17 already), and as C++17 and C++20 with the other
# of g++ and clang++ when it is installed, then runs each. Every build uses
# -Wall -Wextra -Wpedantic -Wshadow, and -Werror when FA_CPP_WERROR says so.
# Last, checks that the static_asserts of make_frame, make_frame_array and
# pool_guard::make reject a type with a destructor, with their message.
set -eu

if [ $# -ne 3 ]; then
  echo "usage: $0 SOURCE_DIR LIB_DIR WORK_DIR" >&2
  exit 2
fi
src=$1
lib=$2
work=$3
cxx=${CXX:-c++}
werror=${FA_CPP_WERROR:-}
rm -rf "$work"
mkdir -p "$work"

case $("$cxx" --version | head -n 1) in
*clang*) other=g++ ;;
*) other=clang++ ;;
esac
builds="$cxx:20"
if command -v "$other" >/dev/null 2>&1; then
  builds="$builds $other:17 $other:20"
else
  echo "note: $other not found, only $cxx is tested"
fi

flags="-Wall -Wextra -Wpedantic -Wshadow $werror -O1 -pthread"
passed=0
failed=0
for b in $builds; do
  c=${b%:*}
  std=${b#*:}
  exe=$work/test_cpp-$(basename "$c")-$std
  echo "== $c -std=c++$std"
  # shellcheck disable=SC2086 # the flag list is meant to be split
  if "$c" -std=c++$std $flags -I"$src/include" -I"$src/tests" \
    "$src/tests/test_cpp.cpp" -o "$exe" -L"$lib" -Wl,-rpath,"$lib" \
    -lframealloc && "$exe"; then
    passed=$((passed + 1))
  else
    echo "FAIL $c -std=c++$std"
    failed=$((failed + 1))
  fi
done

# Each snippet must fail to compile with the static_assert's message.
for what in "fa::make_frame<std::string>(a)" \
  "fa::make_frame_array<std::string>(a, 2)" \
  "fa::pool_guard(a).make<std::string>()"; do
  file=$work/static_assert.cpp
  printf '#include <framealloc.hpp>\n#include <string>\nvoid f(fa::allocator &a) { (void)%s; }\n' \
    "$what" >"$file"
  if "$cxx" -std=c++17 -fsyntax-only -I"$src/include" "$file" \
    >"$work/static_assert.log" 2>&1; then
    echo "FAIL $what compiles"
    failed=$((failed + 1))
  elif grep -q "must be trivially destructible" "$work/static_assert.log"; then
    echo "ok   $what is rejected by its static_assert"
    passed=$((passed + 1))
  else
    echo "FAIL $what is rejected without the static_assert's message:"
    sed 's/^/    /' "$work/static_assert.log"
    failed=$((failed + 1))
  fi
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]

#!/usr/bin/env bash
# The public headers in MSVC mode: clang with --target=x86_64-pc-windows-msvc
# (which defines _MSC_VER and not __GNUC__) parses each header alone and a C
# and a C++ consumer that use every public macro and inline function, once
# as clang-cl would (__clang__ defined) and once with __clang__ undefined
# and every GNU-only construct poisoned (poison.h), which is what MSVC
# itself sees; framealloc.hpp and the C++ consumer's use of it also with
# _MSC_VER 19.30. Then gnu-guard.awk checks, over every public header, that
# no GNU construct sits outside a __GNUC__ or __clang__ guard.
#
# No Windows SDK is needed: <string.h> comes from sysroot/, the rest from
# clang's own headers. framealloc.hpp needs a C++ standard library for the
# MSVC target; MinGW-w64's libstdc++ and C headers stand in for MSVC's
# (g++-mingw-w64-x86-64); without them that part is skipped, unless
# FA_MSVC_HPP=required. <framealloc/uv.h> includes <uv.h>, which needs the
# Windows SDK: it gets the grep only.
#
# What this proves: the headers parse and type-check with MSVC's predefined
# macros and no GNU construct on the paths MSVC takes. Not proven: that
# MSVC itself accepts them (clang is more lenient in places) and that an
# MSVC program links and runs against the library (no MSVC build here).
#
# Usage: check.sh [CLANG]. Exit 77 (skipped) when clang is missing.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
inc=$(cd "$here/../../include" && pwd)
clang=${1:-clang}
command -v "$clang" >/dev/null 2>&1 || {
  echo "check.sh: $clang not found: skipped"
  exit 77
}
clangxx=$clang
case $clang in */clang | clang | */clang-[0-9]* | clang-[0-9]*)
  clangxx=${clang/%clang/clang++}
  command -v "$clangxx" >/dev/null 2>&1 || clangxx=$clang ;;
esac

common=(--target=x86_64-pc-windows-msvc -fsyntax-only -fms-compatibility
  -fms-extensions -Wall -Wextra -Werror -I"$inc")
c_flags=("${common[@]}" -std=c11 -isystem "$here/sysroot")
cxx_flags=("${common[@]}" -x c++ -std=c++17 -isystem "$here/sysroot")
msvc=(-U__clang__ -include "$here/poison.h")
fails=0
run() { # name, then the command
  local name=$1
  shift
  if out=$("$@" 2>&1); then
    echo "ok: $name"
  else
    echo "FAILED: $name"
    echo "$out"
    fails=$((fails + 1))
  fi
}

# The macros MSVC mode must see, and not see.
macros=$("$clang" --target=x86_64-pc-windows-msvc -E -dM -x c /dev/null)
run "MSVC mode predefines _MSC_VER and not __GNUC__" bash -c \
  "grep -q '#define _MSC_VER ' <<<\"\$0\" && ! grep -q '#define __GNUC__ ' <<<\"\$0\"" \
  "$macros"

for h in framealloc.h framealloc/task.h; do
  for lang in c cxx; do
    flags=c_flags
    [ $lang = cxx ] && flags=cxx_flags
    eval "f=(\"\${$flags[@]}\")"
    src=$(mktemp)
    printf '#include <%s>\n' "$h" >"$src"
    run "$h alone ($lang, clang-cl)" "$clang" "${f[@]}" -x "${lang/cxx/c++}" "$src"
    run "$h alone ($lang, MSVC)" "$clang" "${f[@]}" "${msvc[@]}" \
      -x "${lang/cxx/c++}" "$src"
    rm -f "$src"
  done
done
run "consumer.c (clang-cl)" "$clang" "${c_flags[@]}" "$here/consumer.c"
run "consumer.c (MSVC)" "$clang" "${c_flags[@]}" "${msvc[@]}" \
  "$here/consumer.c"
run "consumer.cpp, C headers (clang-cl)" "$clangxx" "${cxx_flags[@]}" \
  "$here/consumer.cpp"
run "consumer.cpp, C headers (MSVC)" "$clangxx" "${cxx_flags[@]}" \
  "${msvc[@]}" "$here/consumer.cpp"

# framealloc.hpp over MinGW-w64's libstdc++ (see above).
gxx=$(ls -d /usr/lib/gcc/x86_64-w64-mingw32/*-win32/include/c++ 2>/dev/null |
  sort -V | tail -n 1 || true)
crt=/usr/share/mingw-w64/include
if [ -n "$gxx" ] && [ -f "$crt/_mingw.h" ]; then
  hpp=("${common[@]}" -x c++ -std=c++17 -nostdinc++ -isystem "$gxx"
    -isystem "$gxx/x86_64-w64-mingw32" -isystem "$crt"
    -include "$here/mingw-prelude.h" -DFA_MSVC_CHECK_HPP
    -D__GCC_ATOMIC_TEST_AND_SET_TRUEVAL=1 -Wno-#warnings
    -Wno-invalid-noreturn)
  run "consumer.cpp, framealloc.hpp (clang-cl)" "$clangxx" "${hpp[@]}" \
    "$here/consumer.cpp"
  run "consumer.cpp, framealloc.hpp (MSVC 19.20)" "$clangxx" "${hpp[@]}" \
    "${msvc[@]}" "$here/consumer.cpp"
  run "consumer.cpp, framealloc.hpp (MSVC 19.30)" "$clangxx" "${hpp[@]}" \
    "${msvc[@]}" -fms-compatibility-version=19.30 "$here/consumer.cpp"
elif [ "${FA_MSVC_HPP:-}" = required ]; then
  echo "FAILED: framealloc.hpp: no MinGW-w64 C++ headers (g++-mingw-w64-x86-64)"
  fails=$((fails + 1))
else
  echo "skipped: framealloc.hpp (no MinGW-w64 C++ headers)"
fi

run "no GNU construct outside a __GNUC__ or __clang__ guard" awk \
  -f "$here/gnu-guard.awk" "$inc/framealloc.h" "$inc/framealloc/task.h" \
  "$inc/framealloc/uv.h" "$inc/framealloc.hpp"

echo "$fails failed"
[ "$fails" -eq 0 ]

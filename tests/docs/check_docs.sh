#!/bin/sh
# check_docs.sh: compiles and runs the C and C++ code blocks of the
# documentation.
#
#   check_docs.sh PREFIX SOURCE_DIR [WORK_DIR]
#
# Every ```c and ```cpp block of SOURCE_DIR/README.md and SOURCE_DIR/docs/*.md
# is compiled against the framealloc installed under PREFIX with warnings as
# errors (C11, or C++17 for ```cpp; C++20 for a block that includes <coroutine>). A block that defines main is linked with the shared library and
# run, and must exit with status 0; any other block is compiled on its own as
# a translation unit, so fragments include their headers and define whole
# functions. A block opened with ```c skip-check (```cpp skip-check) is left
# out.
#
# Environment: CC (default cc), CXX (default c++) and FA_EXTRA_FLAGS, extra flags for compiling
# and linking (the sanitizer flags the library was built with, if any).

# The compiler and flag lists are split into words on purpose.
# shellcheck disable=SC2086
set -eu

if [ $# -lt 2 ]; then
  echo "usage: $0 PREFIX SOURCE_DIR [WORK_DIR]" >&2
  exit 2
fi
prefix=$1
srcdir=$2
cc=${CC:-cc}
cxx=${CXX:-c++}
extra=${FA_EXTRA_FLAGS:-}
# A program that hangs fails instead of stalling the suite.
run=
if command -v timeout >/dev/null 2>&1; then
  run="timeout 120"
fi
warn="-std=c11 -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes -Werror"
cxxwarn="-std=c++17 -Wall -Wextra -Wpedantic -Wshadow -Werror"
# Blocks with coroutines (fa-check's C++ examples) are C++20.
cxx20warn="-std=c++20 -Wall -Wextra -Wpedantic -Wshadow -Werror"

if [ ! -f "$prefix/include/framealloc.h" ]; then
  echo "check_docs: no framealloc.h under $prefix/include" >&2
  exit 2
fi
lib=$(find "$prefix" -name 'libframealloc.so' | head -n 1)
if [ -z "$lib" ]; then
  echo "check_docs: no libframealloc.so under $prefix" >&2
  exit 2
fi
libdir=$(dirname "$lib")

if [ $# -ge 3 ]; then
  work=$3
  rm -rf "$work"
  mkdir -p "$work"
else
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
fi

# Writes each block of one Markdown file to WORK/NAME-N.c (.cpp for C++),
# preceded by a
# #line directive so that compiler messages point into the Markdown file,
# and prints one line per block: "FILE.c check" or "FILE.c skip". A fence
# may be indented (inside a list); that indentation is removed from the
# block. An unterminated block is an error.
extract() {
  awk -v out="$work/$2" -v doc="$3" '
    function fence_info(line) {
      sub(/^[ ]*```[ ]*/, "", line)
      return line
    }
    !inblock && /^[ ]*```[ ]*(c|cpp)([ ].*)?$/ {
      n++
      ext = ($0 ~ /```[ ]*cpp/) ? "cpp" : "c"
      file = sprintf("%s-%02d.%s", out, n, ext)
      info = fence_info($0)
      indent = match($0, /[^ ]/) - 1
      skip = (info ~ /(^|[ ])skip-check([ ]|$)/)
      printf "#line %d \"%s\"\n", NR + 1, doc > file
      inblock = 1
      start = NR
      next
    }
    inblock && /^[ ]*```[ ]*$/ {
      close(file)
      print file, (skip ? "skip" : "check")
      inblock = 0
      next
    }
    inblock {
      line = $0
      if (indent > 0 && substr(line, 1, indent) ~ /^[ ]*$/)
        line = substr(line, indent + 1)
      print line > file
    }
    END {
      if (inblock) {
        printf "%s:%d: unterminated code block\n", doc, start > "/dev/stderr"
        exit 1
      }
    }
  ' "$1"
}

list=$work/blocks.txt
: >"$list"
for doc in "$srcdir/README.md" "$srcdir"/docs/*.md; do
  [ -f "$doc" ] || continue
  rel=${doc#"$srcdir"/}
  name=$(printf '%s' "$rel" | tr '/.' '__')
  extract "$doc" "$name" "$rel" >>"$list"
done

passed=0
failed=0
skipped=0
while read -r file mode; do
  # The #line directive names the Markdown file and line of the block.
  where=$(head -n 1 "$file" | sed 's/^#line \([0-9]*\) "\(.*\)"$/\2:\1/')
  if [ "$mode" = skip ]; then
    skipped=$((skipped + 1))
    continue
  fi
  base=${file%.*}
  comp="$cc $warn"
  case $file in *.cpp) comp="$cxx $cxxwarn" ;; esac
  case $file in
  *.cpp) grep -q '^#include <coroutine>' "$file" && comp="$cxx $cxx20warn" ;;
  esac
  if grep -Eq '(^|[^A-Za-z0-9_])int[[:space:]]+main[[:space:]]*\(' "$file"; then
    if ! $comp $extra -I"$prefix/include" "$file" -o "$base" \
      -L"$libdir" -Wl,-rpath,"$libdir" -lframealloc -pthread \
      >"$base.log" 2>&1; then
      echo "FAIL $where: does not compile or link"
      sed 's/^/    /' "$base.log"
      failed=$((failed + 1))
      continue
    fi
    if ! (cd "$work" && $run "$base") </dev/null >"$base.out" 2>&1; then
      echo "FAIL $where: the program exited with a nonzero status"
      sed 's/^/    /' "$base.out"
      failed=$((failed + 1))
      continue
    fi
    echo "ok   $where (compiled and ran)"
  else
    if ! $comp $extra -I"$prefix/include" -c "$file" -o "$base.o" \
      >"$base.log" 2>&1; then
      echo "FAIL $where: does not compile"
      sed 's/^/    /' "$base.log"
      failed=$((failed + 1))
      continue
    fi
    echo "ok   $where (compiled)"
  fi
  passed=$((passed + 1))
done <"$list"

if [ $((passed + failed)) -eq 0 ]; then
  echo "check_docs: no C or C++ code blocks found under $srcdir" >&2
  exit 1
fi
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]

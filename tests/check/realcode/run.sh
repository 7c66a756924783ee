#!/usr/bin/env bash
# fa-check's precision on real code that uses no frame memory: libuv, Lua
# 5.4 and SQLite (C), Box2D 2.4.1 and fmt 9.1.0 (C++), from the Debian 12
# source packages (libuv1, lua5.4, sqlite3, box2d, fmtlib), each checked
# through a compile database with
#   fa-check --all -j 2 -p DB
# must end with status 0 and not one diagnostic. A checker that reports
# nothing may not be looking, so each project also gets a copy of one of
# its files with a frame pointer used after fa_end_frame appended, checked
# with that file's own command: exactly that FA604 must be reported.
#
# The databases hold the projects' real commands:
#   libuv   CMake's compile_commands.json (bench/check/libuv.sh);
#   Lua     the commands of src/Makefile as `make -n` prints them, with
#           Debian's flags (dpkg-buildflags) and -DLUA_USE_LINUX, and the
#           multiarch header that debian/rules writes;
#   SQLite  the amalgamation sqlite3.c made by `./configure && make
#           sqlite3.c` (tclsh needed), with the command `make` compiles it
#           with.
#   Box2D   CMake's compile_commands.json with the options of debian/rules
#           and Debian's flags (g++), the library's translation units (the
#           unit tests need doctest, which Debian's source leaves out);
#   fmt     CMake's compile_commands.json with the options of debian/rules
#           and Debian's flags (g++), the library without its test suite
#           (the 48 test translation units take a minute on 2 cores).
# The sources are fetched once with apt-get source (scripts/apt-source.sh;
# a deb-src entry is added when apt has none, which needs root) and reused.
#
# Environment:
#   FA_CHECK       the fa-check binary (default: build/tools/fa-check/fa-check,
#                  from `make test-release`); an ASan build also has its
#                  sanitizer reports turned into failures
#   REALCODE_DIR   the work directory (default: build/realcode)
#   CLANG          the compiler named in libuv's database (default: clang-14)
#   REALCODE_ONLY  the projects to check, e.g. "box2d fmt" (default: all)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../../.." && pwd)
fa_check=${FA_CHECK:-$root/build/tools/fa-check/fa-check}
work=${REALCODE_DIR:-$root/build/realcode}

die() {
  echo "realcode: FAILED: $*" >&2
  exit 1
}
say() { echo "realcode: $*" >&2; }

[ -x "$fa_check" ] ||
  die "no fa-check binary at $fa_check (run \`make test-release\` or set FA_CHECK)"
fa_check=$(cd "$(dirname "$fa_check")" && pwd)/$(basename "$fa_check")
for tool in python3 make gcc g++ cmake tclsh; do
  command -v "$tool" >/dev/null ||
    die "$tool is not installed (scripts/deps.sh installs it)"
done
mkdir -p "$work"
work=$(cd "$work" && pwd)

# shellcheck source=scripts/apt-source.sh
. "$root/scripts/apt-source.sh"

# fa-check reads the nearest fa-check.toml above the directory it runs in;
# it runs from an empty scratch directory so that none can change it.
scratch=$(mktemp -d)
canaries=()
cleanup() {
  rm -rf "$scratch"
  # A canary is a file added to a source tree: it must not stay there.
  local c
  for c in "${canaries[@]}"; do rm -f "$c"; done
}
trap cleanup EXIT

# ---- The compile databases -------------------------------------------------

# libuv: the benchmark's input, configured by CMake.
prepare_libuv() {
  local build
  build=$(BENCH_CHECK_OUT="$work/libuv" bash "$root/bench/check/libuv.sh") ||
    die "libuv: preparing the sources failed"
  db_libuv=$build
  tree_libuv=$(apt_source_tree libuv1 "$work/libuv/libuv-src")
}

# Lua: the library, the interpreter and the compiler, from src/Makefile.
prepare_lua() {
  local tree
  mkdir -p "$work/lua"
  tree=$(apt_source_fetch lua5.4 "$work/lua/src" "$work/lua/apt.log") ||
    die "lua: apt-get source lua5.4 failed"
  tree_lua=$tree
  db_lua=$work/lua/db
  if [ ! -s "$db_lua/compile_commands.json" ]; then
    # luaconf.h includes the header that debian/rules writes before the
    # build, naming the multiarch triplet.
    local multiarch
    multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null ||
      gcc -print-multiarch)
    printf '%s\n' '#ifndef _LUA_DEB_MULTIARCH_' '#define _LUA_DEB_MULTIARCH_' \
      "#define DEB_HOST_MULTIARCH \"$multiarch\"" '#endif' \
      >"$tree/src/lua5.4-deb-multiarch.h"
    # Debian's build runs `make linux-readline` through libtool with
    # CC='gcc -std=gnu99'; target o makes every object of the Makefile.
    # -DLUA_USE_READLINE is left out: it only adds readline to lua.c and
    # would need its headers.
    (cd "$tree/src" && make -n --no-print-directory o CC="gcc -std=gnu99" \
      SYSCFLAGS=-DLUA_USE_LINUX LIBTOOL=libtool) >"$work/lua/make-n.txt" \
      2>"$work/lua/make.log" || die "lua: make -n failed (see $work/lua/make.log)"
    python3 "$here/make_compdb.py" "$tree/src" "$db_lua/compile_commands.json" \
      <"$work/lua/make-n.txt" >/dev/null || die "lua: no compile database"
  fi
}

# SQLite: the amalgamation, generated in a build directory beside the tree.
prepare_sqlite() {
  local tree build
  mkdir -p "$work/sqlite"
  tree=$(apt_source_fetch sqlite3 "$work/sqlite/src" "$work/sqlite/apt.log") ||
    die "sqlite: apt-get source sqlite3 failed"
  tree_sqlite=$tree
  build=$work/sqlite/build
  db_sqlite=$work/sqlite/db
  if [ ! -s "$build/sqlite3.c" ]; then
    say "sqlite: configure && make sqlite3.c"
    rm -rf "$build" && mkdir -p "$build"
    # Debian's build flags and the features debian/rules turns on (its
    # `export CFLAGS += ...` lines), with the configure options it gives.
    local features cflags cppflags
    features=$(sed -n '/^export CFLAGS += /,/[^\\]$/p' "$tree/debian/rules" |
      sed -e 's/^export CFLAGS += //' -e 's/\\$//' | tr -s ' \t\n' ' ')
    [ -n "$features" ] || die "sqlite: no CFLAGS found in debian/rules"
    cflags=$(dpkg-buildflags --get CFLAGS 2>/dev/null || echo -g -O2)
    cppflags=$(dpkg-buildflags --get CPPFLAGS 2>/dev/null || true)
    (cd "$build" && "$tree/configure" --enable-threadsafe \
      --enable-load-extension --enable-json --enable-fts4 --enable-fts5 \
      CFLAGS="$cflags $features" CPPFLAGS="$cppflags" \
      >"$work/sqlite/configure.log" 2>&1) ||
      die "sqlite: configure failed (see $work/sqlite/configure.log)"
    (cd "$build" && make sqlite3.c >"$work/sqlite/make.log" 2>&1) ||
      die "sqlite: make sqlite3.c failed (see $work/sqlite/make.log)"
  fi
  if [ ! -s "$db_sqlite/compile_commands.json" ]; then
    (cd "$build" && make -n --no-print-directory sqlite3.lo) \
      >"$work/sqlite/make-n.txt" 2>>"$work/sqlite/make.log" ||
      die "sqlite: make -n sqlite3.lo failed (see $work/sqlite/make.log)"
    python3 "$here/make_compdb.py" "$build" "$db_sqlite/compile_commands.json" \
      sqlite3.c <"$work/sqlite/make-n.txt" >/dev/null ||
      die "sqlite: no compile database"
  fi
}

# Box2D and fmt: CMake's database, configured with Debian's options and
# flags (nothing is built).
prepare_cmake_cxx() {
  local name=$1 package=$2 tree
  shift 2
  mkdir -p "$work/$name"
  tree=$(apt_source_fetch "$package" "$work/$name/src" "$work/$name/apt.log") ||
    die "$name: apt-get source $package failed"
  eval "tree_$name=\$tree"
  eval "db_$name=\$work/\$name/db"
  if [ ! -s "$work/$name/db/compile_commands.json" ]; then
    local flags
    flags="$(dpkg-buildflags --get CXXFLAGS 2>/dev/null || echo -g -O2) \
$(dpkg-buildflags --get CPPFLAGS 2>/dev/null || true)"
    cmake -S "$tree" -B "$work/$name/db" -DCMAKE_EXPORT_COMPILE_COMMANDS=ON \
      -DCMAKE_CXX_COMPILER=g++ -DCMAKE_CXX_FLAGS="$flags" "$@" \
      >"$work/$name/cmake.log" 2>&1 ||
      die "$name: cmake failed (see $work/$name/cmake.log)"
  fi
}

# ---- Checking ----------------------------------------------------------------

diag_re='\[FA[0-9]{3}\]'
sanitizer_re='(Address|Leak|Memory|Thread|UndefinedBehavior)Sanitizer|runtime error:'

# run_fa OUT ARGS...: runs fa-check in the scratch directory with its
# output in OUT.out and OUT.err; sets status.
run_fa() {
  local out=$1
  shift
  status=0
  (cd "$scratch" && "$fa_check" "$@") >"$out.out" 2>"$out.err" || status=$?
}

# explain NAME OUT: why a run failed, with what it printed.
explain() {
  local name=$1 out=$2 why
  if grep -qE "$sanitizer_re" "$out.err"; then
    why="a sanitizer report"
  elif [ "$status" -ge 128 ]; then
    why="a crash (signal $((status - 128)))"
  elif [ "$status" -eq 2 ] && grep -q 'does not parse' "$out.err"; then
    why="a file that does not parse (status 2)"
  elif [ "$status" -eq 2 ]; then
    why="an error (status 2)"
  elif [ "$status" -eq 1 ]; then
    why="findings on code that uses no frame memory (status 1)"
  else
    why="status $status"
  fi
  echo "realcode: FAILED: $name: $why; fa-check printed:" >&2
  head -40 "$out.out" "$out.err" >&2
  exit 1
}

# plant NAME DB FILE: copies FILE of DB's commands beside itself with a
# frame pointer used after fa_end_frame appended, checks the copy with the
# command of FILE, and requires exactly that one finding. The projects do
# not include framealloc.h: the copy declares what it uses.
plant() {
  local name=$1 db=$2 file=$3 copy line out=$work/out/$1-canary
  copy=$(dirname "$file")/fa_canary_$(basename "$file")
  canaries+=("$copy")
  cp "$file" "$copy"
  cat >>"$copy" <<'C'

/* A defect planted by tests/check/realcode/run.sh: fa-check must find it. */
typedef struct fa_allocator_s fa_allocator_t;
void fa_begin_frame(fa_allocator_t *a);
void fa_end_frame(fa_allocator_t *a);
void *fa_frame_alloc(fa_allocator_t *a, size_t size, size_t align);
void fa_canary_use(const char *p);
void fa_canary(fa_allocator_t *a);
void fa_canary(fa_allocator_t *a) {
  fa_begin_frame(a);
  char *p = (char *)fa_frame_alloc(a, 16, 1);
  fa_end_frame(a);
  fa_canary_use(p); /* FA604 */
}
C
  line=$(grep -n 'fa_canary_use(p); /\* FA604' "$copy" | cut -d: -f1)
  # The same command as FILE's, with the copy in its place.
  mkdir -p "$work/out/$name-canary-db"
  python3 - "$db/compile_commands.json" "$file" "$copy" \
    "$work/out/$name-canary-db/compile_commands.json" <<'PY' ||
import json, os, shlex, sys
db, file, copy, out = sys.argv[1:]
for e in json.load(open(db)):
    d = e["directory"]
    if os.path.normpath(os.path.join(d, e["file"])) != file:
        continue
    args = e["arguments"] if "arguments" in e else shlex.split(e["command"])
    args = [copy if os.path.normpath(os.path.join(d, a)) == file else a
            for a in args]
    json.dump([{"directory": d, "arguments": args, "file": copy}],
              open(out, "w"), indent=1)
    sys.exit(0)
sys.exit("no command for " + file)
PY
    die "$name: no command for $file in its database"
  run_fa "$out" --all -j2 -p "$work/out/$name-canary-db" --format compact
  if grep -qE "$sanitizer_re" "$out.err" || [ "$status" -gt 1 ]; then
    explain "$name (planted defect)" "$out"
  fi
  local found want
  found=$(grep -E "$diag_re" "$out.out" "$out.err" -h || true)
  # the path as a literal in the pattern (fmt's tree is fmtlib-9.1.0+ds1)
  want="$(sed 's/[][\.*^$+?(){}|]/\\&/g' <<<"$copy"):$line:[0-9]+: error: .*\[FA604\]"
  if [ "$(grep -cE "$diag_re" <<<"$found")" -ne 1 ] ||
    ! grep -qE "^$want$" <<<"$found"; then
    echo "realcode: FAILED: $name: the planted defect (FA604 at" \
      "$(basename "$copy"):$line) is not the one finding (status $status);" \
      "fa-check printed:" >&2
    head -40 "$out.out" "$out.err" >&2
    exit 1
  fi
}

# check NAME DB VERSION SAMPLE: the whole project, then the planted defect
# in a copy of SAMPLE (a file of the database).
check() {
  local name=$1 db=$2 version=$3 sample=$4 out=$work/out/$1
  local files t0 t1 findings
  files=$(python3 -c '
import json, os, sys
print(len({os.path.normpath(os.path.join(e["directory"], e["file"]))
           for e in json.load(open(sys.argv[1]))
           if e["file"].endswith((".c", ".cc", ".cpp"))}))' \
    "$db/compile_commands.json")
  t0=$(date +%s%N)
  run_fa "$out" --all -j2 -p "$db" --format compact
  t1=$(date +%s%N)
  findings=$(cat "$out.out" "$out.err" | { grep -cE "$diag_re" || true; })
  if [ "$status" -ne 0 ] || [ "$findings" -ne 0 ] ||
    grep -qE "$sanitizer_re" "$out.err"; then
    explain "$name $version" "$out"
  fi
  plant "$name" "$db" "$sample"
  printf '   %-16s %3d file(s), %d findings, %d.%01d s; planted FA604 found\n' \
    "$name $version" "$files" "$findings" $(((t1 - t0) / 1000000000)) \
    $(((t1 - t0) / 100000000 % 10))
}

start=$(date +%s)
mkdir -p "$work/out"
say "sources and compile databases in $work"
# want NAME: the project is checked (REALCODE_ONLY, a space-separated list
# of names, narrows the run; empty: every project).
want() { [ -z "${REALCODE_ONLY:-}" ] || [[ " $REALCODE_ONLY " == *" $1 "* ]]; }
want libuv && prepare_libuv
want lua && prepare_lua
want sqlite && prepare_sqlite
want box2d && prepare_cmake_cxx box2d box2d -DBOX2D_BUILD_DOCS=OFF \
  -DBOX2D_BUILD_UNIT_TESTS=OFF -DBOX2D_BUILD_TESTBED=OFF -DBUILD_SHARED_LIBS=ON
want fmt && prepare_cmake_cxx fmt fmtlib -DFMT_DOC=off -DFMT_PEDANTIC=on \
  -DFMT_TEST=off -DCMAKE_POSITION_INDEPENDENT_CODE=on -DBUILD_SHARED_LIBS=on
echo "== fa-check --all -j2 -p DB on real code ($fa_check)"
version() { basename "$1" | sed 's/^[^-]*-//'; }
if want libuv; then
  check libuv "$db_libuv" "$(version "$tree_libuv")" \
    "$tree_libuv/src/unix/core.c"
fi
want lua && check lua "$db_lua" "$(version "$tree_lua")" "$tree_lua/src/lapi.c"
if want sqlite; then
  check sqlite "$db_sqlite" "$(version "$tree_sqlite")" \
    "$work/sqlite/build/sqlite3.c"
fi
if want box2d; then
  check box2d "$db_box2d" "$(version "$tree_box2d")" \
    "$tree_box2d/src/dynamics/b2_world.cpp"
fi
want fmt && check fmt "$db_fmt" "$(version "$tree_fmt")" "$tree_fmt/src/format.cc"
echo "== real code: no crash, no diagnostic, every planted defect found" \
  "($(($(date +%s) - start)) s)"

#!/usr/bin/env bash
# libuv_copy.sh DEST: a copy of libuv's sources (the Debian source package,
# fetched and configured once by bench/check/libuv.sh) in DEST/libuv, with
# its compile database in DEST/db (the tree's paths replaced by the copy's),
# and three findings planted: FA604 and FA702 at the end of src/unix/core.c,
# FA701 at the end of src/uv-common.c. The planted code includes
# <framealloc.h>: check it with --extra-arg=-IINCLUDE_DIR.
# Prints DEST's absolute path. Environment: REALCODE_DIR (where libuv is
# fetched; default build/realcode).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../../.." && pwd)
work=${REALCODE_DIR:-$root/build/realcode}
dest=$1
mkdir -p "$work"
work=$(cd "$work" && pwd)

# shellcheck source=scripts/apt-source.sh
. "$root/scripts/apt-source.sh"
db=$(BENCH_CHECK_OUT="$work/libuv" bash "$root/bench/check/libuv.sh")
tree=$(apt_source_tree libuv1 "$work/libuv/libuv-src")

rm -rf "$dest"
mkdir -p "$dest/db"
dest=$(cd "$dest" && pwd)
cp -a "$tree" "$dest/libuv"
python3 - "$db/compile_commands.json" "$tree" "$dest/libuv" \
  "$dest/db/compile_commands.json" <<'PY'
import json, sys
db, tree, copy, out = sys.argv[1:]
text = json.dumps(json.load(open(db))).replace(tree.rstrip("/") + "/",
                                               copy + "/")
json.dump(json.loads(text), open(out, "w"), indent=1)
PY

cat >>"$dest/libuv/src/unix/core.c" <<'C'

/* Findings planted by tests/check/realcode/libuv_copy.sh. */
#include <framealloc.h>
void fa_planted_use(const char *p);
int fa_planted_wait(int n);
void fa_planted_604(fa_allocator_t *a);
void fa_planted_702(fa_allocator_t *a);
void fa_planted_604(fa_allocator_t *a) {
  fa_begin_frame(a);
  char *p = fa_frame_alloc(a, 16, 1);
  fa_end_frame(a);
  fa_planted_use(p);
}
void fa_planted_702(fa_allocator_t *a) {
  char *q = fa_frame_alloc(a, 16, 1);
  FA_AWAIT(fa_planted_wait(1));
  fa_planted_use(q);
}
C
cat >>"$dest/libuv/src/uv-common.c" <<'C'

/* A finding planted by tests/check/realcode/libuv_copy.sh. */
#include <framealloc.h>
FA_ASYNC void fa_planted_701(fa_allocator_t *a);
FA_ASYNC void fa_planted_701(fa_allocator_t *a) {
  char *r = fa_frame_alloc(a, 16, 1);
  (void)r;
}
C
echo "$dest"

#!/usr/bin/env bash
# chocolate-doom on framealloc, against its own zone, on the Freedoom demos.
#
#   run.sh test   (make test-game)  test_zone.c (the zone's contract
#                 outside the game); every demo lump of freedoom1.wad and
#                 freedoom2.wad played by the stock build and by ours: the
#                 same gametic count ("timed N gametics"), the same hash of
#                 the play state after every tic and the same random number
#                 indexes (probe.c); no framealloc diagnostic. Then, on one
#                 demo with a 64 KiB purgeable budget (a purge every few
#                 allocations): ours still identical, the deliberately
#                 broken zone (a purge that leaves the owner pointer) caught,
#                 and ours built on the ASan+UBSan debug library clean.
#                 Last, fa-check over the game's compile database.
#   run.sh bench  (make bench-game) timedemo speed of ours and of z_native.c
#                 over the stock zone, BENCH_RUNS (5) interleaved rounds per
#                 demo, medians and spread; peak RSS and the zone's figures
#                 per level. The table goes to $work/bench.md.
#
# Packages come through scripts/ensure-packages.sh, the game's source
# through scripts/apt-source.sh (`apt-get source chocolate-doom`), unpacked
# under the work directory and never changed: integrations/chocolate-doom/
# CMakeLists.txt adds it as a subdirectory and builds the executables, which
# differ in their zone only, from one configure.
#
# Environment: DOOM_DIR (work directory, default build/doom), FA_CHECK
# (default build/tools/fa-check/fa-check), FA_WERROR, BENCH_RUNS.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
mode=${1:-test}
work=${DOOM_DIR:-$root/build/doom}
fa_check=${FA_CHECK:-$root/build/tools/fa-check/fa-check}
iwads=/usr/share/games/doom
start=$(date +%s)

die() {
  echo "doom: FAILED: $*" >&2
  exit 1
}
say() { echo "doom: $*" >&2; }

bash "$root/scripts/ensure-packages.sh" cmake make gcc python3 freedoom \
  libsdl2-dev libsdl2-mixer-dev libsdl2-net-dev libsamplerate0-dev libpng-dev
mkdir -p "$work/run"
work=$(cd "$work" && pwd)
run=$work/run

# shellcheck source=scripts/apt-source.sh
. "$root/scripts/apt-source.sh"
tree=$(apt_source_fetch chocolate-doom "$work/src" "$work/apt.log") ||
  die "apt-get source chocolate-doom failed"

# build DIR TARGETS... [-- CMAKE_ARGS...]: one configure, the given targets.
build() {
  local dir=$1 targets=() args=()
  shift
  while [ $# -gt 0 ] && [ "$1" != -- ]; do targets+=("$1") && shift; done
  [ $# -gt 0 ] && shift && args=("$@")
  cmake -S "$here" -B "$dir" -DDOOM_SOURCE_DIR="$tree" \
    -DFA_WERROR="${FA_WERROR:-OFF}" "${args[@]}" >"$dir.log" 2>&1 ||
    { cat "$dir.log" >&2; die "configure failed"; }
  cmake --build "$dir" -j 2 --target "${targets[@]}" >>"$dir.log" 2>&1 ||
    { tail -30 "$dir.log" >&2; die "build failed (see $dir.log)"; }
}

say "building the game (stock zone, z_native.c, ours, ours broken) in $work/rel"
mkdir -p "$work/rel"
build "$work/rel" chocolate-doom-stock chocolate-doom-fa chocolate-doom-native \
  chocolate-doom-broken test_zone -- -DCMAKE_BUILD_TYPE=Release \
  -DFA_DOOM_BROKEN=ON
bin_stock=$work/rel/chocolate-doom-stock
bin_fa=$work/rel/chocolate-doom-fa
bin_native=$work/rel/chocolate-doom-native
bin_broken=$work/rel/chocolate-doom-broken

# Headless, silent, a 320x200 window (the scaling of a large window costs
# more than the game), no disk icon; the configuration stays in $run.
export SDL_VIDEODRIVER=offscreen SDL_AUDIODRIVER=dummy
printf 'snd_sfxdevice 0\nsnd_musicdevice 0\n' >"$run/default.cfg"
printf '%s\n' 'fullscreen 0' 'show_diskicon 0' 'show_endoom 0' \
  'window_width 320' 'window_height 240' 'max_scaling_buffer_pixels 64000' \
  >"$run/extra.cfg"

# The DEMOn lumps of an IWAD, from its directory.
demos() {
  python3 - "$1" <<'PY'
import struct, sys
d = open(sys.argv[1], "rb").read()
n, off = struct.unpack("<ii", d[4:12])
for i in range(n):
    name = d[off + 16 * i + 8:off + 16 * i + 16].rstrip(b"\0").decode()
    if name.startswith("DEMO") and name[4:].isdigit():
        print(name.lower())
PY
}

# play OUT BIN IWAD DEMO [ENV...]: one timedemo; OUT.out has the game's
# output, OUT.probe the probe's, OUT.stats our zone's; sets `ns` (wall time).
play() {
  local out=$1 bin=$2 wad=$3 demo=$4 t0
  shift 4
  rm -f "$out.probe" "$out.stats"
  t0=$(date +%s%N)
  # HOME: the game's save directory stays in $run too.
  env "$@" HOME="$run" FA_DOOM_PROBE="$out.probe" FA_DOOM_STATS="$out.stats" \
    "$bin" -iwad "$iwads/$wad.wad" -timedemo "$demo" -nosound \
    -config "$run/default.cfg" -extraconfig "$run/extra.cfg" \
    >"$out.out" 2>&1 </dev/null || true
  ns=$(($(date +%s%N) - t0))
}

# result OUT: "TICS STATE RND PRND", or "-" when the run did not finish.
result() {
  local timed
  timed=$(sed -n 's/^timed \([0-9]*\) gametics.*/\1/p' "$1.out")
  if [ -z "$timed" ] || [ ! -s "$1.probe" ]; then
    echo -
    return
  fi
  echo "$timed $(awk '$1 == "state" || $1 == "rndindex" ||
    $1 == "prndindex" { printf "%s ", $2 }' "$1.probe")"
}
frame_hash() { awk '$1 == "frame_hash" { print $2 }' "$1.probe" 2>/dev/null; }

# No framealloc diagnostic, no sanitizer report in OUT.out.
clean() {
  ! grep -qE 'z_framealloc:|FA[0-9]{3}|Sanitizer|runtime error:' "$1.out"
}

# zone_tests BIN: test_zone.c passes, and nothing is left at exit.
zone_tests() {
  "$1" >"$run/test_zone.out" 2>&1 || { cat "$run/test_zone.out" >&2; \
    die "test_zone failed"; }
  clean "$run/test_zone" || { cat "$run/test_zone.out" >&2; \
    die "test_zone: a diagnostic or a sanitizer report"; }
  echo "   test_zone: $(tail -n 1 "$run/test_zone.out"), nothing left at exit"
}

test_game() {
  local wad demo n=0 same_frames=0 a b
  echo "== the zone's contract outside the game (test_zone.c)"
  zone_tests "$work/rel/test_zone"
  echo "== playback: stock zone vs framealloc zone, every demo lump"
  for wad in freedoom1 freedoom2; do
    [ -s "$iwads/$wad.wad" ] || die "no $iwads/$wad.wad (package freedoom)"
    for demo in $(demos "$iwads/$wad.wad"); do
      play "$run/$wad-$demo-stock" "$bin_stock" "$wad" "$demo"
      play "$run/$wad-$demo-fa" "$bin_fa" "$wad" "$demo"
      a=$(result "$run/$wad-$demo-stock")
      b=$(result "$run/$wad-$demo-fa")
      [ "$a" != - ] || die "$wad $demo: the stock build did not finish" \
        "(see $run/$wad-$demo-stock.out)"
      [ "$a" = "$b" ] || die "$wad $demo: stock [$a] but ours [$b]" \
        "(see $run/$wad-$demo-fa.out)"
      clean "$run/$wad-$demo-fa" ||
        die "$wad $demo: diagnostics from our zone (see $run/$wad-$demo-fa.out)"
      [ "$(frame_hash "$run/$wad-$demo-stock")" = \
        "$(frame_hash "$run/$wad-$demo-fa")" ] && same_frames=$((same_frames + 1))
      n=$((n + 1))
      set -- $a
      printf '   %-9s %-5s %5s tics  state %s  identical\n' "$wad" "$demo" \
        "$1" "$2"
    done
  done
  [ "$n" -ge 2 ] || die "no demo lumps found"
  echo "   $n demos identical; frame buffers identical in $same_frames" \
    "(the renderer shows bytes next to some blocks: probe.c)"

  echo "== a 64 KiB purgeable budget on freedoom2 demo1 (purges all the time)"
  a=$(result "$run/freedoom2-demo1-stock")
  play "$run/small-fa" "$bin_fa" freedoom2 demo1 FA_DOOM_CACHE_KB=64
  b=$(result "$run/small-fa")
  [ "$a" = "$b" ] || die "small budget: stock [$a] but ours [$b]"
  clean "$run/small-fa" || die "small budget: diagnostics (see $run/small-fa.out)"
  echo "   ours: identical, $(awk '$1 == "PU_CACHE" { print $4 }' \
    "$run/small-fa.stats") purges"
  play "$run/broken" "$bin_broken" freedoom2 demo1 FA_DOOM_CACHE_KB=64
  b=$(result "$run/broken")
  [ "$a" != "$b" ] || die "the broken zone (a purge that keeps the owner" \
    "pointer) played identically: the comparison cannot see it"
  echo "   broken zone caught: [${b}] instead of [$a];" \
    "$(grep -m1 -E 'Z_|Error|error' "$run/broken.out" || echo 'no message')"

  echo "== ours on the ASan+UBSan debug library (FA_DEBUG=2), freedoom2 demo1"
  mkdir -p "$work/asan"
  build "$work/asan" chocolate-doom-fa test_zone -- -DCMAKE_BUILD_TYPE=Debug \
    -DFA_SANITIZE=address -DFA_DEBUG=2 -DFA_DOOM_STOCK=OFF
  ASAN_OPTIONS=detect_leaks=1 zone_tests "$work/asan/test_zone"
  # Leak reports are left to framealloc's own check (FA005): the game keeps
  # SDL's and libc's memory to the end, which LeakSanitizer would list.
  play "$run/asan" "$work/asan/chocolate-doom-fa" freedoom2 demo1 \
    FA_DOOM_CACHE_KB=64 ASAN_OPTIONS=detect_leaks=0:abort_on_error=0 \
    UBSAN_OPTIONS=print_stacktrace=1
  b=$(result "$run/asan")
  [ "$a" = "$b" ] || die "ASan build: stock [$a] but ours [$b] (see $run/asan.out)"
  clean "$run/asan" || die "ASan build: a report (see $run/asan.out)"
  echo "   identical, no sanitizer report, no framealloc diagnostic (FA005 silent)"

  echo "== fa-check --all -j2 -p over the game with our zone"
  if [ -x "$fa_check" ]; then
    local status=0 scratch
    # The commands of chocolate-doom-fa's files (the game, our zone,
    # framealloc), out of the database of every target configured.
    mkdir -p "$work/fa-check-db"
    python3 - "$work/rel/compile_commands.json" \
      "$work/fa-check-db/compile_commands.json" <<'PY' || die "no database"
import json, re, sys
keep = re.compile(r"/(doom_common|doom|chocolate-doom-fa|framealloc_static)"
                  r"\.dir/")
db = [e for e in json.load(open(sys.argv[1]))
      if keep.search(e.get("output", "") + " " + e["command"])]
json.dump(db, open(sys.argv[2], "w"), indent=1)
print(len(db), "files", file=sys.stderr)
PY
    scratch=$(mktemp -d)
    (cd "$scratch" && "$fa_check" --all -j2 -p "$work/fa-check-db" \
      --format compact) \
      >"$run/fa-check.out" 2>"$run/fa-check.err" || status=$?
    rm -rf "$scratch"
    [ "$status" -le 1 ] || { head -20 "$run/fa-check.err" >&2; \
      die "fa-check ended with status $status"; }
    echo "   status $status, $(grep -cE '\[FA[0-9]{3}\]' "$run/fa-check.out" \
      "$run/fa-check.err" | awk -F: '{ s += $NF } END { print s }') finding(s)" \
      "(docs/case-study-doom.md explains them)"
  else
    die "no fa-check at $fa_check (make test-release builds it)"
  fi
  echo "== doom: all checks passed ($(($(date +%s) - start)) s)"
}

# median of the numbers on standard input
median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

bench_game() {
  local runs=${BENCH_RUNS:-5} wad demo i b order fps out=$work/bench.md
  echo "| demo | stock fps | ours / stock (min-max) | z_native / stock (min-max) | wall ours / stock | peak RSS stock / ours / native (MiB) |" >"$out"
  echo "|---|---|---|---|---|---|" >>"$out"
  for wad in freedoom1 freedoom2; do
    for demo in $(demos "$iwads/$wad.wad"); do
      : >"$run/bench.txt"
      for i in $(seq 1 "$runs"); do
        # A different order each round: stock, fa, native, then rotated.
        case $((i % 3)) in
        1) order="stock fa native" ;;
        2) order="fa native stock" ;;
        0) order="native stock fa" ;;
        esac
        for b in $order; do
          local bin=$bin_stock
          [ "$b" = fa ] && bin=$bin_fa
          [ "$b" = native ] && bin=$bin_native
          play "$run/bench-$b" "$bin" "$wad" "$demo"
          fps=$(sed -n 's/^timed .*(\([0-9.]*\) fps)/\1/p' "$run/bench-$b.out")
          [ -n "$fps" ] || die "$wad $demo: $b did not finish"
          echo "$i $b $fps $ns $(awk '$1 == "peak_rss_kb" { print $2 }' \
            "$run/bench-$b.probe")" >>"$run/bench.txt"
        done
      done
      python3 - "$wad $demo" "$run/bench.txt" >>"$out" <<'PY'
import statistics as st, sys
rows = [l.split() for l in open(sys.argv[2])]
by = {}
for i, b, fps, ns, rss in rows:
    by.setdefault(int(i), {})[b] = (float(fps), int(ns), int(rss))
def ratios(b, k):
    if k == 0:  # speed: fps ratio
        return [r[b][0] / r["stock"][0] for r in by.values()]
    return [r[b][1] / r["stock"][1] for r in by.values()]
fa, nat, wall = ratios("fa", 0), ratios("native", 0), ratios("fa", 1)
rss = {b: st.median(r[b][2] for r in by.values()) / 1024
       for b in ("stock", "fa", "native")}
print("| %s | %.0f | %.3f (%.3f-%.3f) | %.3f (%.3f-%.3f) | %.3f | %.1f / %.1f / %.1f |" % (
    sys.argv[1], st.median(r["stock"][0] for r in by.values()),
    st.median(fa), min(fa), max(fa), st.median(nat), min(nat), max(nat),
    1 / st.median(wall), rss["stock"], rss["fa"], rss["native"]))
PY
      tail -1 "$out"
    done
  done
  # The zone's own figures per level, from the last run of ours.
  echo >>"$out"
  echo "Our zone at each level change (freedoom2 $(demos "$iwads/freedoom2.wad" | tail -1), bytes):" >>"$out"
  sed 's/^/    /' "$run/bench-fa.stats" >>"$out"
  cat "$out"
  say "table in $out ($(($(date +%s) - start)) s)"
}

case $mode in
test) test_game ;;
bench) bench_game ;;
*) die "usage: run.sh test|bench" ;;
esac

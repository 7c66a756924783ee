#!/usr/bin/env bash
# W1 and W2 on Windows: fa-bench cross-built with MinGW-w64 (Release,
# FA_DEBUG=0, the inline fast paths) and run under Wine, framealloc and its
# naive reference side by side in one run, rounds alternating between them.
# Writes bench/windows.md (the section report.sh appends to results.md) and
# puts it in bench/results.md now. BENCH_ROUNDS rounds (default 5) of one
# process per variant; each process reports the median of its repetitions.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
build=${BENCH_WIN_BUILD_DIR:-$root/build-bench-windows}
rounds=${BENCH_ROUNDS:-5}
wine=$(command -v wine64 || echo /usr/lib/wine/wine64)
[ -x "$wine" ] || {
  echo "windows.sh: wine64 is not installed" >&2
  exit 1
}

cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_TOOLCHAIN_FILE="$root/cmake/toolchains/x86_64-w64-mingw32.cmake" \
  -DFA_BUILD_BENCH=ON -DFA_BUILD_TESTS=OFF -DFA_BUILD_EXAMPLES=OFF \
  -DFA_BUILD_CHECK=OFF -DFA_BUILD_UV=OFF -DFA_DEBUG=0 -DFA_SANITIZE= \
  -DFA_VALGRIND=OFF >/dev/null
cmake --build "$build" --target fa-bench -j 2 >/dev/null
export WINEPREFIX=${WINEPREFIX:-$build/wine} WINEDEBUG=-all

mkdir -p "$here/out"
tsv=$here/out/windows.tsv
printf 'workload\tvariant\tround\tns_per_op\n' >"$tsv"
specs=("w1 fa 64" "w1 bump 64" "w1 fa mixed" "w1 bump mixed" "w2 fa"
  "w2 list")
for ((r = 1; r <= rounds; r++)); do
  for spec in "${specs[@]}"; do
    read -r -a args <<<"$spec"
    # A run Wine fails to start (it happens on a loaded machine) is tried
    # again, twice at most.
    line=
    for try in 1 2 3; do
      line=$("$wine" "$build/bin/fa-bench.exe" "${args[@]}" | tr -d '\r') &&
        break
      echo "windows.sh: ${args[*]} failed (try $try)" >&2
      line=
    done
    [ -n "$line" ] || exit 1
    awk -F'\t' -v r="$r" '$1 == "result" {
        split($5, n, "="); printf "%s\t%s\t%d\t%s\n", $2, $3, r, n[2] }' \
      <<<"$line" | tee -a "$tsv"
  done
done

# The median over the rounds of each variant, and fa's ratio to its
# reference.
commit=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo "?")
section=$(awk -F'\t' -v commit="$commit" -v rounds="$rounds" \
  -v wine="$("$wine" --version 2>/dev/null || echo Wine)" '
  NR > 1 { k = $1 SUBSEP $2; v[k, ++n[k]] = $4 }
  function median(k,   i, j, t, m, a) {
    m = n[k]
    for (i = 1; i <= m; i++) a[i] = v[k, i]
    for (i = 1; i <= m; i++)
      for (j = i + 1; j <= m; j++)
        if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
    return m % 2 ? a[(m + 1) / 2] : (a[m / 2] + a[m / 2 + 1]) / 2
  }
  function row(w, name, ref,   f, b) {
    f = median(w SUBSEP "fa"); b = median(w SUBSEP ref)
    printf "| %s | %.2f | %s %.2f | %.2f |\n", name, f, ref, b, f / b
  }
  END {
    print "## Windows (MinGW-w64, Wine)"
    print ""
    printf "Measured by `bench/windows.sh` (`make bench-windows`) at commit %s: ", commit
    printf "fa-bench cross-built with MinGW-w64 (Release, `FA_DEBUG=0`) and run under "
    printf "%s on this Linux machine, framealloc and the naive reference in the same run, ", wine
    printf "%d rounds alternating between them; median ns per operation over the rounds.\n", rounds
    print ""
    print "| workload | framealloc ns/op | reference ns/op | ratio |"
    print "|---|---|---|---|"
    row("w1-64", "W1 frame, 64 B", "bump")
    row("w1-mixed", "W1 frame, 16-256 B", "bump")
    row("w2", "W2 pool, 64 B", "list")
    print ""
    print "Wine timing is noisy: Wine runs the code natively (no emulation), but on a shared, busy"
    print "machine, and its thread-local storage and heap are Wine'\''s, not Windows'\''. Take the ratios as"
    print "a check that the fast paths stay inlined and cheap on Windows, not as Windows figures."
    print "MinGW'\''s GCC emulates `__thread` (emutls): the inline paths get the address of the"
    print "thread-local cache from a call to `__emutls_get_address`, which GCC hoists out of the"
    print "allocation loops of W1 (one call per frame); the allocations themselves stay inline."
  }' "$tsv")
printf '%s\n' "$section" >"$here/windows.md"

# Replace the section in results.md, or append it.
md=$here/results.md
awk -v file="$here/windows.md" '
  /^## Windows \(MinGW-w64, Wine\)/ { skip = 1; next }
  skip && /^## / { skip = 0 }
  !skip { print }
  END { }' "$md" >"$md.tmp"
sed -i -e :a -e '/^\n*$/{$d;N;ba' -e '}' "$md.tmp"
{ cat "$md.tmp"; printf '\n'; cat "$here/windows.md"; } >"$md"
rm -f "$md.tmp"
echo "windows.sh: wrote $here/windows.md and its section of $md"

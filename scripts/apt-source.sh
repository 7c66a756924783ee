# Sourced, not run: fetches Debian source packages with `apt-get source`,
# for the scripts that check fa-check against real C code (the libuv
# benchmark input of bench/check/libuv.sh, the real-code test of
# tests/check/realcode/run.sh).
#
# apt_source_fetch PACKAGE DEST LOG prints the unpacked source tree of
# PACKAGE under DEST. The first call makes sure apt knows a source index:
# when no deb-src entry exists, it adds one for each deb entry apt already
# has (same archive, suites, components and keys; needs root or sudo), so
# the sources come from wherever this machine gets its packages. Then it
# runs `apt-get source PACKAGE` in DEST; later calls reuse the unpacked
# tree. Messages go to standard error; apt's own output goes to LOG and is
# shown when apt fails.
#
# APT_SOURCE_ETC (default /etc/apt) is the apt configuration directory
# read and written; APT_SOURCE_NO_UPDATE=1 skips the apt-get update after
# adding entries. Both are for tests.
# shellcheck shell=bash

apt_source_say() { echo "apt-source: $*" >&2; }

apt_source_etc() { printf '%s\n' "${APT_SOURCE_ETC:-/etc/apt}"; }

# The source files apt reads: sources.list, then sources.list.d/*.list and
# *.sources (apt ignores other names).
apt_source_files() {
  local etc f
  etc=$(apt_source_etc)
  for f in "$etc/sources.list" "$etc"/sources.list.d/*.list \
    "$etc"/sources.list.d/*.sources; do
    if [ -f "$f" ]; then printf '%s\n' "$f"; fi
  done
}

# True when apt knows a source index for some suite (a deb-src line in the
# one-line format, or "Types: ... deb-src" in a deb822 .sources file).
apt_source_have_deb_src() {
  local f
  while read -r f; do
    case $f in
    *.sources) grep -qsE '^Types:.*deb-src' "$f" && return 0 ;;
    *) grep -qsE '^[[:space:]]*deb-src[[:space:]]' "$f" && return 0 ;;
    esac
  done < <(apt_source_files)
  return 1
}

# apt_source_derive_list FILE...: a deb-src line for each deb line of
# one-line-format files; options, archive, suite and components kept.
apt_source_derive_list() {
  sed -n 's/^[[:space:]]*deb\([[:space:]]\)/deb-src\1/p' "$@"
}

# apt_source_derive_sources FILE...: for each enabled deb822 stanza whose
# Types include deb, the same stanza with "Types: deb-src"; every field
# but Types and Enabled is kept as it is, continuation lines included.
apt_source_derive_sources() {
  awk '
    function flush(   i) {
      if (n && has_deb && !disabled) {
        print "Types: deb-src"
        for (i = 1; i <= n; i++)
          print lines[i]
        print ""
      }
      n = 0; has_deb = 0; disabled = 0
    }
    FNR == 1 { flush() }
    /^[[:space:]]*$/ { flush(); next }
    /^#/ { next }
    tolower($1) == "types:" {
      for (i = 2; i <= NF; i++)
        if ($i == "deb")
          has_deb = 1
      next
    }
    tolower($1) == "enabled:" { disabled = (tolower($2) == "no"); next }
    { lines[++n] = $0 }
    END { flush() }
  ' "$@"
}

# Writes framealloc-deb-src.list and/or .sources into sources.list.d, one
# deb-src entry per deb entry of the existing files, then updates apt.
apt_source_add_deb_src() {
  local etc sudo="" f from_list="" from_sources=""
  local list=() sources=()
  etc=$(apt_source_etc)
  [ "$(id -u)" -eq 0 ] || sudo=sudo
  while read -r f; do
    case $f in
    *.sources) sources+=("$f") ;;
    *) list+=("$f") ;;
    esac
  done < <(apt_source_files)
  [ ${#list[@]} -eq 0 ] || from_list=$(apt_source_derive_list "${list[@]}")
  [ ${#sources[@]} -eq 0 ] ||
    from_sources=$(apt_source_derive_sources "${sources[@]}")
  if [ -z "$from_list" ] && [ -z "$from_sources" ]; then
    apt_source_say "apt has no deb entry under $etc to derive a deb-src" \
      "entry from; add one for your distribution's archive"
    return 1
  fi
  apt_source_say "adding a deb-src entry for each deb entry of apt" \
    "($etc/sources.list.d/framealloc-deb-src.*)"
  if [ -n "$from_list" ]; then
    printf '%s\n' "$from_list" |
      $sudo tee "$etc/sources.list.d/framealloc-deb-src.list" >/dev/null ||
      return 1
  fi
  if [ -n "$from_sources" ]; then
    printf '%s\n' "$from_sources" |
      $sudo tee "$etc/sources.list.d/framealloc-deb-src.sources" >/dev/null ||
      return 1
  fi
  [ -n "${APT_SOURCE_NO_UPDATE:-}" ] || $sudo apt-get update -qq
}

# apt_source_tree PACKAGE DEST: the newest PACKAGE-VERSION directory in
# DEST, or nothing. The directory is named after the source package, which
# for the packages fetched here is also the name given to apt-get.
apt_source_tree() {
  find "$2" -maxdepth 1 -mindepth 1 -type d -name "$1-*" 2>/dev/null |
    sort | tail -1 || true
}

apt_source_fetch() {
  local pkg=$1 dest=$2 log=$3 tree
  tree=$(apt_source_tree "$pkg" "$dest")
  if [ -z "$tree" ]; then
    apt_source_have_deb_src || apt_source_add_deb_src || {
      apt_source_say "could not add a deb-src entry to apt"
      return 1
    }
    rm -rf "$dest" && mkdir -p "$dest" || return 1
    apt_source_say "apt-get source $pkg into $dest"
    # As root apt cannot hand the download to its sandbox user in a
    # directory it does not own; that warning is harmless.
    (cd "$dest" && apt-get source -qq "$pkg" >/dev/null 2>"$log") || {
      apt_source_say "apt-get source $pkg failed:"
      cat "$log" >&2
      return 1
    }
    tree=$(apt_source_tree "$pkg" "$dest")
    [ -n "$tree" ] || {
      apt_source_say "no $pkg-* directory after apt-get source"
      return 1
    }
  fi
  printf '%s\n' "$tree"
}

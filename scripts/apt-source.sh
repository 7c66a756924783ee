# Sourced, not run: fetches Debian source packages with `apt-get source`,
# for the scripts that check fa-check against real C code (the libuv
# benchmark input of bench/check/libuv.sh, the real-code test of
# tests/check/realcode/run.sh).
#
# apt_source_fetch PACKAGE DEST LOG prints the unpacked source tree of
# PACKAGE under DEST. The first call adds a deb-src entry for bookworm when
# apt has none (needs root or sudo), then runs `apt-get source PACKAGE` in
# DEST; later calls reuse the unpacked tree. Messages go to standard error;
# apt's own output goes to LOG and is shown when apt fails.
# shellcheck shell=bash

apt_source_say() { echo "apt-source: $*" >&2; }

# True when apt knows a source index for some suite (a deb-src line in the
# one-line format, or "Types: ... deb-src" in a deb822 .sources file).
apt_source_have_deb_src() {
  grep -qsE '^[[:space:]]*deb-src[[:space:]]' /etc/apt/sources.list \
    /etc/apt/sources.list.d/*.list && return 0
  grep -qsE '^Types:.*deb-src' /etc/apt/sources.list.d/*.sources
}

apt_source_add_deb_src() {
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo=sudo
  apt_source_say "adding the bookworm source index to apt"
  printf '%s\n' \
    'Types: deb-src' \
    'URIs: http://deb.debian.org/debian' \
    'Suites: bookworm bookworm-updates' \
    'Components: main' \
    'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg' \
    '' \
    'Types: deb-src' \
    'URIs: http://deb.debian.org/debian-security' \
    'Suites: bookworm-security' \
    'Components: main' \
    'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg' |
    $sudo tee /etc/apt/sources.list.d/bookworm-src.sources >/dev/null ||
    return 1
  $sudo apt-get update -qq
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

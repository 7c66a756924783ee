#!/usr/bin/env bash
# test_apt_source.sh: scripts/apt-source.sh derives its deb-src entries
# from the deb entries apt already has, in both formats, and leaves
# disabled ones out. Runs on a scratch apt directory (APT_SOURCE_ETC),
# without apt-get or the network.
#
#   test_apt_source.sh SOURCE_DIR
set -euo pipefail
src=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
passed=0
failed=0
check() { # check WHAT COMMAND...
  local what=$1
  shift
  if "$@"; then
    passed=$((passed + 1))
  else
    echo "FAIL: $what"
    failed=$((failed + 1))
  fi
}

check_not() { # check_not WHAT COMMAND...: COMMAND must fail
  local what=$1
  shift
  if ! "$@"; then
    passed=$((passed + 1))
  else
    echo "FAIL: $what"
    failed=$((failed + 1))
  fi
}

etc=$work/etc
mkdir -p "$etc/sources.list.d"
cat >"$etc/sources.list" <<'L'
# a comment
deb [signed-by=/k.gpg] http://mirror.invalid/debian bookworm main contrib
L
cat >"$etc/sources.list.d/main.sources" <<'S'
Types: deb
URIs: http://mirror.invalid/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
Enabled: no
URIs: http://off.invalid/debian
Suites: bookworm
Components: main
S
printf 'deb http://ignored.invalid/x y z\n' \
  >"$etc/sources.list.d/other.list.disabled"

run() {
  APT_SOURCE_ETC=$etc APT_SOURCE_NO_UPDATE=1 bash -c \
    "source '$src/scripts/apt-source.sh'; $*" 2>"$work/err"
}
check_not "no deb-src entry at first" run apt_source_have_deb_src
check "entries added" run apt_source_add_deb_src
list=$etc/sources.list.d/framealloc-deb-src.list
sources=$etc/sources.list.d/framealloc-deb-src.sources
check "one-line entry derived" grep -qx \
  'deb-src \[signed-by=/k.gpg\] http://mirror.invalid/debian bookworm main contrib' "$list"
check "deb822 stanza derived" grep -q \
  '^URIs: http://mirror.invalid/debian$' "$sources"
check "deb822 keeps Suites and Signed-By" bash -c "grep -q '^Suites: bookworm bookworm-updates$' '$sources' && grep -q '^Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg$' '$sources'"
check "deb822 Types rewritten" bash -c "[ \"\$(grep -c '^Types: deb-src$' '$sources')\" = 1 ] && ! grep -q '^Types: deb$' '$sources'"
check "disabled stanza left out" bash -c "! grep -q off.invalid '$sources'"
check "disabled file left out" bash -c "! grep -q ignored.invalid '$list' '$sources'"
check "deb-src known afterwards" run apt_source_have_deb_src

# No deb entry at all: a clear failure, nothing written.
rm -rf "$etc" && mkdir -p "$etc/sources.list.d"
check_not "no deb entry: fails" run apt_source_add_deb_src
check "no deb entry: says why" grep -q 'no deb entry' "$work/err"
check "no deb entry: writes nothing" bash -c "[ -z \"\$(ls '$etc/sources.list.d')\" ]"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]

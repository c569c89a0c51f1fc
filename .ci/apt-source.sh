#!/usr/bin/env bash
# Usage: .ci/apt-source.sh PACKAGE/SUITE DIR
# Downloads a Debian source package with apt-get source (adding deb-src
# lines for bookworm and trixie first if needed), unpacks its upstream
# tarball into DIR and prints the unpacked source tree's path.
set -euo pipefail
die() { printf 'apt-source: %s\n' "$*" >&2; exit 1; }
[ $# -eq 2 ] || die "usage: $0 PACKAGE/SUITE DIR"
pkg=$1 dir=$2

src_list=/etc/apt/sources.list.d/tcpecho-deb-src.sources
if [ ! -f "$src_list" ]; then
  cat >"$src_list" <<'SRC'
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm trixie
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
  apt-get update -q >&2 || die "apt-get update with deb-src lines failed"
fi

mkdir -p "$dir"
# Only the upstream tarball is needed; a missing Debian part is not fatal.
(cd "$dir" && apt-get source -q --download-only "$pkg" >&2) || true
name=${pkg%%/*}
tarball=$(ls "$dir"/"$name"_*.orig.tar.* 2>/dev/null | head -n 1)
[ -n "$tarball" ] || die "apt-get source $pkg downloaded no upstream tarball"
before=$(ls -d "$dir"/*/ 2>/dev/null || true)
tar -xf "$tarball" -C "$dir"
tree=$(comm -13 <(printf '%s\n' "$before" | sort) \
  <(ls -d "$dir"/*/ | sort) | head -n 1)
[ -n "$tree" ] || die "unpacking $tarball gave no directory"
printf '%s\n' "${tree%/}"

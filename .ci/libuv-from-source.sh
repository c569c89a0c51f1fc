#!/usr/bin/env bash
# Builds and tests tcpecho against libuv 1.50 built from source through
# FETCHCONTENT_SOURCE_DIR_LIBUV, the no-network path of third_party/. The
# source comes from Debian 13's source package: apt-get source, after adding
# a deb-src line for trixie.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
die() { printf 'libuv-from-source: %s\n' "$*" >&2; exit 1; }

src_list=/etc/apt/sources.list.d/tcpecho-deb-src.sources
if [ ! -f "$src_list" ]; then
  cat >"$src_list" <<'SRC'
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: trixie
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
  apt-get update -q || die "apt-get update with the deb-src line failed"
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && apt-get source -q --download-only libuv1/trixie) \
  || die "apt-get source libuv1/trixie failed"
tarball=$(ls "$work"/libuv1_*.orig.tar.gz 2>/dev/null | head -n 1)
[ -n "$tarball" ] || die "no libuv orig tarball downloaded"
tar -xzf "$tarball" -C "$work"
srcdir=$(ls -d "$work"/libuv1-*/ | head -n 1)
version=$(sed -n 's/^#define UV_VERSION_\(MAJOR\|MINOR\|PATCH\) \([0-9]*\)/\2/p' \
  "$srcdir/include/uv/version.h" | paste -sd.)
echo "libuv source: $version"

cmake -S . -B build-libuv-src -DTCPECHO_WERROR=ON \
  -DFETCHCONTENT_SOURCE_DIR_LIBUV="$srcdir" >/dev/null
cmake --build build-libuv-src --parallel "$(nproc 2>/dev/null || echo 2)"
# The binary must report the libuv it was built with, not the system's.
build-libuv-src/tcpecho --version | grep -F "(libuv $version)" \
  || die "tcpecho is not linked with libuv $version"
ctest --test-dir build-libuv-src --output-on-failure

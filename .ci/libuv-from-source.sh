#!/usr/bin/env bash
# Builds and tests tcpecho against libuv 1.50 built from source through
# FETCHCONTENT_SOURCE_DIR_LIBUV, the no-network path of third_party/. The
# source is Debian 13's source package.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
die() { printf 'libuv-from-source: %s\n' "$*" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
srcdir=$(bash .ci/apt-source.sh libuv1/trixie "$work") \
  || die "could not get libuv's source"
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

#!/usr/bin/env bash
# Every test labelled memcheck under valgrind: the unit and loop test
# programs inside valgrind, the end-to-end ones with every tcpecho they
# start inside it (test/CMakeLists.txt, TCPECHO_MEMCHECK). Any error or
# leak fails the test.
#
# Usage: .ci/memcheck.sh [BUILD_DIR]   (default: build-memcheck)
# Needs valgrind (Debian: apt-get install valgrind).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
die() { printf 'memcheck: %s\n' "$*" >&2; exit 1; }

dir=${1:-build-memcheck}
command -v valgrind >/dev/null || die "valgrind not found (apt-get install valgrind)"
vg="valgrind -q --error-exitcode=99 --leak-check=full"
vg="$vg --errors-for-leak-kinds=definite,indirect,possible"

cmake -S . -B "$dir" -DTCPECHO_MEMCHECK="$vg" >/dev/null
cmake --build "$dir" --parallel "$(nproc 2>/dev/null || echo 2)" >/dev/null
ctest --test-dir "$dir" --output-on-failure -L memcheck

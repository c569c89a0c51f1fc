#!/usr/bin/env bash
# The tests of a mingw-w64 build run as Windows programs under wine, chosen
# by label: the one selection for .ci/windows.sh and the mingw job of
# .github/workflows/ci.yml. Left out:
#   slow           minutes of load through wine's socket emulation
#   wine-excluded  see test/CMakeLists.txt (one half-close scenario)
# The capture, HAProxy and namespace tests are Linux-only: under wine they
# report themselves skipped.
#
# Usage: .ci/wine-tests.sh BUILD_DIR   (with a wine prefix made and a
# persistent wineserver running, as .ci/windows.sh does)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

dir=${1:?usage: .ci/wine-tests.sh BUILD_DIR}
unset TCPECHO_REQUIRE_CAPTURE TCPECHO_REQUIRE_HAPROXY TCPECHO_REQUIRE_NETNS
ctest --test-dir "$dir" --output-on-failure --timeout 300 \
  -LE 'slow|wine-excluded' </dev/null

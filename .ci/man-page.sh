#!/usr/bin/env bash
# The man page CMake made from docs/tcpecho.1.in (version filled in)
# renders without a single groff or man warning.
#
# Usage: .ci/man-page.sh [BUILD_DIR]   (default: build)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

page=${1:-build}/docs/tcpecho.1
[ -f "$page" ] || { echo "man page: no $page (configure first)" >&2; exit 1; }
if grep -q '@PROJECT_VERSION@' "$page"; then
  echo "man page: $page: the version was not filled in" >&2
  exit 1
fi
warnings=$(LC_ALL=C.UTF-8 MANROFFSEQ='' MANWIDTH=80 \
  man --warnings -E UTF-8 -l "$page" 2>&1 >/dev/null)
if [ -n "$warnings" ]; then
  printf 'man page warnings: %s\n' "$warnings" >&2
  exit 1
fi
echo "$page renders without warnings"

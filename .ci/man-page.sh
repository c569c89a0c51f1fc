#!/usr/bin/env bash
# The man page renders without a single groff or man warning.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

warnings=$(LC_ALL=C.UTF-8 MANROFFSEQ='' MANWIDTH=80 \
  man --warnings -E UTF-8 -l docs/tcpecho.1 2>&1 >/dev/null)
if [ -n "$warnings" ]; then
  printf 'man page warnings: %s\n' "$warnings" >&2
  exit 1
fi
echo "docs/tcpecho.1 renders without warnings"

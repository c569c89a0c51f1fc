#!/usr/bin/env bash
# Runs the README's test command exactly as written: the fenced block after
# the test-command marker.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
die() { printf 'readme-test: %s\n' "$*" >&2; exit 1; }

test_cmd=$(awk '/<!-- test-command/ {m=1; next}
                m && /^```/ {if (in_block) exit; in_block=1; next}
                in_block {print}' README.md)
[ -n "$test_cmd" ] || die "no test command found in README.md"
printf '%s\n' "$test_cmd"
bash -euo pipefail -c "$test_cmd"

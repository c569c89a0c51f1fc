#!/usr/bin/env bash
# The mutation check (see README.md): test/mutants/run.sh [options]
# [CMAKE_OPTIONS...]. Needs python3, cmake and what the build needs.
set -euo pipefail
exec python3 "$(dirname "${BASH_SOURCE[0]}")/mutants.py" "$@"

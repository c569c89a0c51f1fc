#!/usr/bin/env bash
# The tests that run several threads (label threads: the multi-loop server,
# --bench --threads, the shared session count) built with clang and
# ThreadSanitizer, warnings as errors. A report makes the process exit
# with status 66, which fails its test.
#
# Usage: .ci/tsan.sh [BUILD_DIR]   (default: build-tsan)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

dir=${1:-build-tsan}
cmake -S . -B "$dir" -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=Debug \
  -DTCPECHO_TSAN=ON -DTCPECHO_WERROR=ON >/dev/null
cmake --build "$dir" --parallel "$(nproc 2>/dev/null || echo 2)"
TSAN_OPTIONS=${TSAN_OPTIONS:-exitcode=66:halt_on_error=0:second_deadlock_stack=1} \
  ctest --test-dir "$dir" --output-on-failure -L threads

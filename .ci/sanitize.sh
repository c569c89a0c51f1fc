#!/usr/bin/env bash
# Every test (all labels, the slow ones too) built with clang,
# AddressSanitizer and UBSan, warnings as errors. Any report fails.
#
# Usage: .ci/sanitize.sh [BUILD_DIR]   (default: build-asan)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

dir=${1:-build-asan}
cmake -S . -B "$dir" -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=Debug \
  -DTCPECHO_SANITIZE=ON -DTCPECHO_WERROR=ON >/dev/null
cmake --build "$dir" --parallel "$(nproc 2>/dev/null || echo 2)"
ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0} \
UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
  ctest --test-dir "$dir" --output-on-failure

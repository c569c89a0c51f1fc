#!/usr/bin/env bash
# The benchmark's peers and driver (test/bench) still build: the epoll
# echo server and load generator and the UDP echo server with warnings as
# errors, bench.py as Python. Usage: .ci/bench-peers.sh [OUT_DIR]   (default: build)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

out=${1:-build}
mkdir -p "$out"
for f in epoll_echo epoll_load udp_echo; do
  cc -O2 -Wall -Wextra -Werror -o "$out/$f" "test/bench/$f.c"
done
python3 -m py_compile test/bench/bench.py test/bench/udp_bench.py
echo "epoll_echo, epoll_load, udp_echo, bench.py and udp_bench.py build"

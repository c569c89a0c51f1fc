#!/usr/bin/env bash
# The generator's own numbers in docs/BENCHMARKS.md ("The generator's
# numbers, audited"), measured with tcpecho --bench itself:
#   churn   tcpecho --bench --churn -C 20 against tcpecho -qq and epoll_echo,
#           interleaved rounds, server on CPU 0 and generator on CPU 1:
#           sessions/s and the server's CPU time per session
#   memory  peak resident memory of tcpecho --bench at -C 100 and -C 10000
# Usage: test/bench/generator.sh churn|memory TCPECHO [EPOLL_ECHO] [ROUNDS]
# (EPOLL_ECHO: test/bench/epoll_echo.c built, as bench.py builds it in
# build-bench/). Linux: taskset, /proc; python3 for the JSON.
set -euo pipefail
what=${1:?usage: generator.sh churn|memory TCPECHO [EPOLL_ECHO] [ROUNDS]}
tcpecho=${2:?usage: generator.sh churn|memory TCPECHO [EPOLL_ECHO] [ROUNDS]}
epoll=${3:-build-bench/epoll_echo}
rounds=${4:-5}
ulimit -n 20000 2>/dev/null || true

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# start_server NAME PORT: on CPU 0, its pid in $srv
start_server() {
  if [ "$1" = tcpecho ]; then
    taskset -c 0 "$tcpecho" --server --host 127.0.0.1 --port "$2" -qq 2>/dev/null &
  else
    taskset -c 0 "$epoll" "$2" >/dev/null 2>&1 &
  fi
  srv=$!
  sleep 0.4
}

stop_server() {
  kill -INT "$srv"
  wait "$srv" 2>/dev/null || true
}

churn_once() { # NAME
  local port t0 t1 out
  port=$(free_port)
  start_server "$1" "$port"
  t0=$(awk '{print $14 + $15}' "/proc/$srv/stat")
  out=$(taskset -c 1 "$tcpecho" --bench --host 127.0.0.1 --port "$port" \
    --churn -C 20 -d 4 --warmup 1 --json)
  t1=$(awk '{print $14 + $15}' "/proc/$srv/stat")
  stop_server
  python3 - "$out" "$((t1 - t0))" "$(getconf CLK_TCK)" <<'PY'
import json, sys
r = json.loads(sys.argv[1])
if r["errors"]["total"] != 0:
    sys.exit("errors: %s" % r["errors"])
c = r["churn"]
cpu = int(sys.argv[2]) / int(sys.argv[3])
print("%.1f sessions/s, p50 %.1f us, p99 %.1f us, server %.2f CPU-s for "
      "%d sessions = %.1f us/session" % (c["sessions_per_s"],
      c["session_us"]["p50"], c["session_us"]["p99"], cpu, c["opened"],
      1e6 * cpu / c["opened"]))
PY
}

memory_once() { # CONNECTIONS PORT
  local b peak=0 v
  taskset -c 1 "$tcpecho" --bench --host 127.0.0.1 --port "$2" -C "$1" -d 3 \
    --warmup 0.5 >/dev/null &
  b=$!
  while kill -0 "$b" 2>/dev/null; do
    v=$(awk '/VmHWM/ {print $2}' "/proc/$b/status" 2>/dev/null || true)
    if [ -n "$v" ] && [ "$v" -gt "$peak" ]; then peak=$v; fi
    sleep 0.2
  done
  wait "$b"
  echo "-C $1: peak resident $peak KiB"
}

case $what in
churn)
  for i in $(seq 1 "$rounds"); do
    if [ $((i % 2)) = 1 ]; then order="tcpecho epoll"; else order="epoll tcpecho"; fi
    for s in $order; do echo "round $i $s: $(churn_once "$s")"; done
  done
  ;;
memory)
  port=$(free_port)
  start_server tcpecho "$port"
  for i in $(seq 1 "$rounds"); do
    memory_once 100 "$port"
    memory_once 10000 "$port"
  done
  stop_server
  ;;
*)
  echo "usage: generator.sh churn|memory TCPECHO [EPOLL_ECHO] [ROUNDS]" >&2
  exit 2
  ;;
esac

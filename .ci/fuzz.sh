#!/usr/bin/env bash
# Fuzzes the pure parsers with libFuzzer: options_parse (argument
# vectors), log_escape (arbitrary bytes), proxy_header_parse (a
# connection's first bytes), the JSON and report reader of --bench-merge
# (a report file) and metrics_http_classify (a request to --metrics),
# each built with clang and
# ASan + UBSan, each run for a bounded time from a small seed corpus made
# here. Any crash, sanitizer report, leak, timeout or broken invariant
# fails, and the input that did it is printed.
#
# Usage: .ci/fuzz.sh [SECONDS_PER_TARGET]   (default: 30)
# Needs clang and cmake (Debian: apt-get install clang cmake); builds into
# build-fuzz.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
die() { printf 'fuzz: %s\n' "$*" >&2; exit 1; }
step() { printf '\n--> %s\n' "$*"; }

secs=${1:-30}
case $secs in '' | *[!0-9]*) die "seconds must be a whole number: '$secs'" ;; esac
command -v clang >/dev/null || die "clang not found (apt-get install clang)"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
build=build-fuzz

step "build (clang $(clang -dumpversion), -DTCPECHO_FUZZ=ON)"
# The targets link tcpecho_core: the binary's own source list.
cmake -S . -B "$build" -DCMAKE_C_COMPILER=clang -DTCPECHO_FUZZ=ON \
  -DTCPECHO_BUILD_TESTS=OFF -DTCPECHO_WERROR=ON >/dev/null ||
  die "configuring $build failed"
cmake --build "$build" --parallel "$(nproc 2>/dev/null || echo 2)" \
  --target fuzz_options fuzz_log fuzz_proxy_header fuzz_bench_merge \
  fuzz_metrics_request >/dev/null ||
  die "building the targets failed"
bin="$PWD/$build/test/fuzz"

step "seed corpus"
# options: one file per argument vector, arguments separated by NUL bytes.
seed() { # DIR NAME ARG...
  local dir=$1 name=$2
  shift 2
  mkdir -p "$dir"
  if [ $# -gt 0 ]; then
    printf '%s\0' "$@" | head -c -1 >"$dir/$name"
  else
    : >"$dir/$name"
  fi
}
so="$work/seed_options"
seed "$so" empty
seed "$so" server --server
seed "$so" server_all --server --host 127.0.0.1 --port 0 --quiet \
  --max-conns 5 --idle-timeout 0.3 --drain-timeout 5 --stats 0.2
seed "$so" server_eq --server --port=8000 --stats=1.5
seed "$so" client -c -H localhost -p8000 -m 'Hi, beyondyyh' -t 10 -v
seed "$so" bundled -cq -p 9000
seed "$so" ping --client --count 3 --interval 0.2 --timeout 1 --size 64
seed "$so" forever --client --forever -S 16
seed "$so" stdin --client --stdin --timeout 2 --connect-timeout 0.5
seed "$so" server_verbose --server -v --stats 0.001
seed "$so" sub_ms --server --idle-timeout 0.0004
seed "$so" bench --bench -C 4 -P 8 -d 1 --warmup 0 -r 1000 -T 2 --json
seed "$so" help --help
seed "$so" version -V
seed "$so" dashdash --server -- x
seed "$so" bad_port --server --port 65536
seed "$so" bad_secs --client --close-after 1.2345x
seed "$so" two_roles --server --client
seed "$so" merge --bench-merge a.json - --json
# log: bytes to escape.
sl="$work/seed_log"
mkdir -p "$sl"
printf 'Hi, beyondyyh' >"$sl/text"
printf 'tab\there\\ \r\n\0\001\177\200\377' >"$sl/escapes"
head -c 64 /dev/zero >"$sl/zeros64"
head -c 65 /dev/zero | tr '\0' 'a' >"$sl/a65"
head -c 300 /dev/zero | tr '\0' '\377' >"$sl/ff300"
# proxy_header: PROXY protocol headers, v1 lines and v2 blocks, with data
# after them, and a few bad ones.
sp="$work/seed_proxy"
mkdir -p "$sp"
# A v2 header: the signature, then the rest as printf's %b escapes.
v2() { printf '\r\n\r\n\0\r\nQUIT\n%b' "$1"; }
printf 'PROXY TCP4 203.0.113.7 127.0.0.1 56324 8000\r\nHi' >"$sp/v1_tcp4"
printf 'PROXY TCP6 2001:db8::7 ::1 65535 0\r\n' >"$sp/v1_tcp6"
printf 'PROXY UNKNOWN\r\n' >"$sp/v1_unknown"
printf 'PROXY TCP4 01.2.3.4 5.6.7.8 080 2\r\n' >"$sp/v1_bad"
v2 '\x21\x11\x00\x0c\xcb\x00\x71\x07\x7f\x00\x00\x01\xdc\x04\x1f\x40Hi' \
  >"$sp/v2_tcp4"
{
  v2 '\x21\x21\x00\x24\x20\x01\x0d\xb8'
  head -c 27 /dev/zero
  printf '\x01\x01\xbb\xff\xff'
} >"$sp/v2_tcp6"
v2 '\x20\x00\x00\x00' >"$sp/v2_local"
v2 '\x21\x11\x00\x17\x0a\x00\x00\x01\x0a\x00\x00\x02\x00\x01\x00\x02' \
  >"$sp/v2_tlv"
printf '\x04\x00\x03abc\x01\x00\x02h2' >>"$sp/v2_tlv"
v2 '\x21\x11\x0f\xf1' >"$sp/v2_too_long"
# metrics_request: what a scraper sends, and a few that are refused.
sm="$work/seed_metrics"
mkdir -p "$sm"
printf 'GET /metrics HTTP/1.1\r\nHost: 127.0.0.1:9100\r\nUser-Agent: Prometheus/2.42.0\r\nAccept: text/plain;version=0.0.4\r\n\r\n' \
  >"$sm/prometheus"
printf 'HEAD /metrics?x=1 HTTP/1.0\n\n' >"$sm/head"
printf 'POST /metrics HTTP/1.1\r\nContent-Length: 2\r\n\r\nhi' >"$sm/post"
printf 'GET /other HTTP/1.1\r\n\r\n' >"$sm/other"
printf 'GET /metrics HTTP/1.1\r\n folded: x\r\n\r\n' >"$sm/fold"

# bench_merge: a report as bench --json writes it, and JSON odds and ends.
sb="$work/seed_merge"
mkdir -p "$sb"
printf '%s' '{"host":"localhost","port":8000,"connections":2,"connected":2,"size":64,"pipeline":1,"rate":0,"threads":1,"setup_s":0.001,"seconds":1.0,"messages":3,"bytes":192,"msgs_per_s":3.0,"mb_per_s":0.0,"latency_us":{"min":10.0,"p50":20.0,"p90":300.0,"p99":300.0,"p99_9":300.0,"max":300.0,"mean":110.0},"errors":{"total":0,"connect":0,"corrupted":0,"extra":0,"missing":0,"early_close":0,"local":0},"reports":1,"latency_histogram":{"unit":"ns","sub_bits":7,"total":3,"min":10000,"max":300000,"sum":330000,"buckets":[924,1,1052,1,1554,1]}}' >"$sb/report"
printf '{"interval":1}\n{"a":[1,2.5e3,-0,true,false,null,"\\u00e9\\ud83d\\ude00"]}\n' >"$sb/stream"
printf '[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]' >"$sb/deep"

failed=()
run() { # NAME SEEDS
  local name=$1 seeds=$2 corpus="$work/corpus_$1" rc=0
  mkdir -p "$corpus" "$work/artifacts_$name"
  step "$name for ${secs} s"
  (cd "$work" && "$bin/$name" -max_total_time="$secs" -rss_limit_mb=2048 \
    -timeout=10 -max_len=4096 -print_final_stats=1 \
    -artifact_prefix="$work/artifacts_$name/" "$corpus" "$seeds") || rc=$?
  if [ "$rc" -ne 0 ] || [ -n "$(ls -A "$work/artifacts_$name")" ]; then
    for f in "$work/artifacts_$name"/*; do
      [ -e "$f" ] || continue
      printf '%s, input as bytes:\n' "$(basename "$f")" >&2
      od -An -c "$f" | head -n 20 >&2
    done
    printf 'fuzz: %s failed (exit status %s)\n' "$name" "$rc" >&2
    failed+=("$name")
    return 0
  fi
  printf '%s: no failure, %s inputs in the corpus\n' "$name" \
    "$(find "$corpus" -type f | wc -l)"
}
run fuzz_options "$so"
run fuzz_log "$sl"
run fuzz_bench_merge "$sb"
run fuzz_proxy_header "$sp"
run fuzz_metrics_request "$sm"

step "done"
[ ${#failed[@]} -eq 0 ] || die "failures in: ${failed[*]}"
echo "fuzzing found nothing"

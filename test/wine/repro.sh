#!/usr/bin/env bash
# Reproduces the half-close data loss under wine and shows whose it is: the
# scenario (half_close.c, a native client) against a minimal libuv echo
# server (echo_min.c), a plain Winsock one (echo_iocp.c) and tcpecho, each
# run natively on Linux and as a Windows .exe under wine. See README.md.
#
# Usage: test/wine/repro.sh [--build-only] [BUILD_WIN [BUILD]]
# (default: build-win build; --build-only compiles the programs and stops)
# BUILD_WIN is the mingw-w64 cross-build (its libuv is reused), BUILD a
# native build. Needs gcc, pkg-config, libuv1-dev, mingw-w64 and wine with
# a prefix and a running wineserver (the README's Windows section).
# Exit status 0 when every native run echoed everything; the wine runs only
# report what they lost.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
die() { printf 'repro: %s\n' "$*" >&2; exit 1; }
build_only=0
if [ "${1:-}" = --build-only ]; then
  build_only=1
  shift
fi
win=${1:-build-win} native=${2:-build}
uv_a=$win/_deps/libuv-build/libuv.a
uv_src=$(sed -n 's/^FETCHCONTENT_SOURCE_DIR_LIBUV:[A-Z]*=//p' \
  "$win/CMakeCache.txt" 2>/dev/null)
[ -n "$uv_src" ] || uv_src=$win/_deps/libuv-src
if [ ! -f "$uv_a" ] || [ ! -d "$uv_src/include" ] ||
  [ ! -x "$win/tcpecho.exe" ]; then
  die "no mingw-w64 build with libuv built from source in $win"
fi
[ -x "$native/tcpecho" ] || die "no native build in $native"

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
flags=(-Wall -Wextra -Werror -O2)
win_libs=(-static "$uv_a" -lpsapi -luser32 -ladvapi32 -liphlpapi -luserenv
  -lws2_32 -ldbghelp -lole32 -lshell32)
for p in echo_min half_close; do
  # shellcheck disable=SC2046
  gcc "${flags[@]}" -o "$out/$p" "test/wine/$p.c" $(pkg-config --cflags \
    --libs libuv) || die "cannot build $p"
done
for p in echo_min half_close; do
  x86_64-w64-mingw32-gcc "${flags[@]}" -I"$uv_src/include" \
    -o "$out/$p.exe" "test/wine/$p.c" "${win_libs[@]}" \
    || die "cannot build $p.exe"
done
x86_64-w64-mingw32-gcc "${flags[@]}" -o "$out/echo_iocp.exe" \
  test/wine/echo_iocp.c -static -lws2_32 || die "cannot build echo_iocp.exe"
[ "$build_only" = 0 ] || exit 0

# run NAME SERVER...: starts the server, runs the scenario against it
# (with the client in $client).
client=()
run() {
  local name=$1 pid port rc=0
  shift
  "$@" >"$out/server.log" 2>&1 </dev/null &
  pid=$!
  for _ in $(seq 300); do
    port=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' \
      "$out/server.log" | head -n 1)
    [ -n "$port" ] && break
    sleep 0.1
  done
  [ -n "$port" ] || { kill "$pid"; die "$name did not start"; }
  printf '\n--> %s\n' "$name"
  timeout 120 "${client[@]}" "$port" </dev/null || rc=$?
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  grep '^connection' "$out/server.log" | grep -v ' 0 sends succeeded short' \
    | sed 's/^/    server: /' || true
  return "$rc"
}

tcpecho=(--server --host 127.0.0.1 --port 0 --quiet)
status=0
client=("$out/half_close")
run "minimal libuv server, native" "$out/echo_min" || status=1
run "tcpecho, native" "$native/tcpecho" "${tcpecho[@]}" || status=1
run "minimal libuv server under wine" wine "$out/echo_min.exe" || true
run "plain Winsock server under wine" wine "$out/echo_iocp.exe" || true
run "tcpecho under wine" wine "$win/tcpecho.exe" "${tcpecho[@]}" || true
# As ctest runs it under wine: the client is a Windows program too.
client=(wine "$out/half_close.exe")
run "tcpecho under wine, client under wine" wine "$win/tcpecho.exe" \
  "${tcpecho[@]}" || true
exit "$status"

#!/usr/bin/env bash
# Windows, tested here: cross-compile tcpecho and its tests for x86_64
# Windows with mingw-w64 (static .exe files), run the tests under wine
# (all but the label .ci/wine-tests.sh leaves out: the half-close test,
# where wine's sockets lose data, see test/wine/),
# then run the end-to-end tests from Linux against the .exe: the .exe as
# server and client, the .exe server on several loops, a native client
# against the .exe server, and the .exe client against a native server.
#
# Usage: .ci/windows.sh [NATIVE_BUILD_DIR]   (default: build; it must hold
# a native build with its tests, as the README's test command makes)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
die() { printf 'windows: %s\n' "$*" >&2; exit 1; }
step() { printf '\n--> %s\n' "$*"; }
native=${1:-build}
[ -x "$native/tcpecho" ] && [ -x "$native/test/test_cli" ] \
  || die "no native build with tests in $native"
export DEBIAN_FRONTEND=noninteractive

step "install mingw-w64 and wine"
apt-get install -y -q --no-install-recommends \
  gcc-mingw-w64-x86-64-win32 wine wine64 >/dev/null \
  || die "could not install gcc-mingw-w64-x86-64-win32 wine wine64"

step "libuv and cmocka sources (Debian source packages)"
src=$(mktemp -d)
libuv_src=$(bash .ci/apt-source.sh libuv1/trixie "$src/libuv") \
  || die "could not get libuv's source"
cmocka_src=$(bash .ci/apt-source.sh cmocka/bookworm "$src/cmocka") \
  || die "could not get cmocka's source"
echo "libuv: $libuv_src"
echo "cmocka: $cmocka_src"

step "wine prefix and a persistent wineserver"
# Without a running wineserver every start costs seconds and piped output
# can hang; the prefix must exist before the first test.
export WINEPREFIX="$src/wineprefix" WINEARCH=win64 WINEDEBUG=-all
unset DISPLAY
mkdir -p "$WINEPREFIX"
trap 'wineserver -k 2>/dev/null || true; rm -rf "$src"' EXIT
wineserver -p || die "wineserver -p failed"
wineboot --init </dev/null >/dev/null 2>&1 || die "wineboot --init failed"

step "cross-build (mingw-w64, warnings as errors)"
cmake -S . -B build-win \
  -DCMAKE_TOOLCHAIN_FILE=third_party/mingw-w64-x86_64.cmake \
  -DTCPECHO_WERROR=ON \
  -DFETCHCONTENT_SOURCE_DIR_LIBUV="$libuv_src" \
  -DFETCHCONTENT_SOURCE_DIR_CMOCKA="$cmocka_src" >/dev/null
# libuv's own warnings are not ours: keep the log, show it on failure.
if ! cmake --build build-win --parallel "$(nproc 2>/dev/null || echo 2)" \
  >"$src/build.log" 2>&1; then
  grep -vF "$libuv_src" "$src/build.log" | grep -E "error|warning" ||
    tail -n 40 "$src/build.log"
  die "the cross-build failed"
fi
wine build-win/tcpecho.exe --version </dev/null

step "the tests, as Windows programs under wine (by label)"
bash .ci/wine-tests.sh build-win

step "the programs that reproduce wine's half-close loss still build"
bash test/wine/repro.sh --build-only build-win "$native"

step "the .exe end to end, driven from Linux (server and client .exe)"
TCPECHO_TEST_WRAPPER=wine "$native/test/test_cli" build-win/tcpecho.exe \
  </dev/null

step "the .exe gives up on a host that never answers (driven from Linux)"
# A native listener can leave SYNs unanswered, which a Windows test program
# cannot (libuv posts AcceptEx ahead): the .exe's connect timeouts, every
# mode, are tested this way. (The rest of test_stall runs under wine above.)
TCPECHO_TEST_WRAPPER=wine "$native/test/test_stall" build-win/tcpecho.exe \
  '*connect_timeout*' </dev/null

step "the .exe server on 2 and 4 loops, stopped with Ctrl-C (driven from Linux)"
# Under wine above, a Windows test program can only terminate the server,
# so the drain, the second signal and the per-loop summaries are checked
# here, where SIGINT reaches the .exe as Ctrl-C.
TCPECHO_TEST_WRAPPER=wine "$native/test/test_threads" build-win/tcpecho.exe \
  </dev/null

step "the .exe's UDP server, driven from Linux (summary counts checked)"
# Left out: the two tests of a client connected to 127.0.0.2, as Windows
# replies from the address the system picks (see the man page's UDP).
TCPECHO_TEST_WRAPPER=wine "$native/test/test_udp" build-win/tcpecho.exe \
  sizes_v4 sizes_v6 sizes_dual_stack loop_sources flood_held_to_rate \
  </dev/null

step "the .exe's --metrics, stopped with Ctrl-C (driven from Linux)"
# The scrapes against the summary and the drain need the stop signal.
TCPECHO_TEST_WRAPPER=wine "$native/test/test_metrics" build-win/tcpecho.exe \
  </dev/null

step "a native client against the .exe server"
TCPECHO_TEST_SERVER_WRAPPER=wine TCPECHO_TEST_CLIENT_WRAPPER= \
  "$native/test/test_cli" build-win/tcpecho.exe "$native/tcpecho" </dev/null

step "the .exe client against a native server"
TCPECHO_TEST_SERVER_WRAPPER= TCPECHO_TEST_CLIENT_WRAPPER=wine \
  "$native/test/test_cli" "$native/tcpecho" build-win/tcpecho.exe </dev/null

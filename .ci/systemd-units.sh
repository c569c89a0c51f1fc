#!/usr/bin/env bash
# The units of contrib/systemd pass `systemd-analyze verify` without a
# word about them. verify wants ExecStart='s binary to exist and runs man
# for Documentation=, so it checks a copy of the units whose ExecStart= is
# the built binary, with the built man page where man looks.
#
# Usage: .ci/systemd-units.sh [BUILD_DIR]   (default: build; built first)
# Needs systemd-analyze (Debian: systemd) and man (man-db).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
die() { printf 'systemd-units: %s\n' "$*" >&2; exit 1; }

dir=${1:-build}
bin=$(cd "$dir" 2>/dev/null && pwd)/tcpecho
page=$dir/docs/tcpecho.1
installed=/usr/local/bin/tcpecho # CMake's default prefix, bin/
[ -x "$bin" ] || die "no $bin (build first)"
[ -f "$page" ] || die "no $page (configure first)"
command -v systemd-analyze >/dev/null ||
  die "systemd-analyze not found (apt-get install systemd)"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/man/man1"
cp "$page" "$tmp/man/man1/"
cp contrib/systemd/tcpecho.socket contrib/systemd/tcpecho.service "$tmp/"
grep -q "^ExecStart=$installed " "$tmp/tcpecho.service" ||
  die "tcpecho.service: ExecStart= does not run $installed"
sed -i "s|^ExecStart=$installed |ExecStart=$bin |" "$tmp/tcpecho.service"

status=0
out=$(cd "$tmp" && MANPATH="$tmp/man" \
  systemd-analyze verify tcpecho.socket tcpecho.service 2>&1) || status=$?
[ -z "$out" ] || printf '%s\n' "$out"
# Lines about other units (the host's, in a container) are not ours.
if [ "$status" -ne 0 ] || grep -q 'tcpecho' <<<"$out"; then
  die "systemd-analyze verify failed or warned about the units (above)"
fi
echo "contrib/systemd: tcpecho.socket and tcpecho.service verify cleanly"

#!/usr/bin/env bash
# What CI needs on a fresh Debian 12 machine, as root: compilers, CMake,
# libuv and cmocka, valgrind, tcpdump (the capture test), haproxy (the
# HAProxy test), prometheus (its promtool checks the --metrics text),
# systemd (its socket-activation launcher and unit checker), and the man
# page and workflow linters. The Windows step installs its own (mingw-w64,
# wine).
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
die() { printf 'deps: %s\n' "$*" >&2; exit 1; }

apt-get update -q || die "apt-get update failed"
apt-get install -y -q --no-install-recommends \
  ca-certificates gcc clang make cmake pkg-config git xz-utils \
  libuv1-dev libcmocka-dev valgrind man-db groff-base yamllint tcpdump \
  haproxy \
  systemd \
  || die "apt-get install failed"
apt-get install -y -q --no-install-recommends prometheus \
  || die "apt-get install prometheus failed"

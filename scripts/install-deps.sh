#!/usr/bin/env bash
# Installs every system package Berth's build, demo and tests need on Debian 12.
# README and .ci/run both call this script, so the list lives in one place.
set -euo pipefail

packages=(
  build-essential pkg-config   # C toolchain for -sys crates (ring, libseccomp)
  libseccomp-dev               # seccomp filters for containers
  busybox-static               # the test image is built from it
  iptables iproute2            # NAT, published ports, bridges
  openssl curl netcat-openbsd  # TLS certificates for tests, demo and HTTP/1.0 checks
  git ca-certificates
  bzip2 xz-utils               # the builder unpacks .bz2/.xz archives for ADD
  procps                       # `top` of a container runs ps
  docker-registry              # a real registry server for registry tests
  docker.io                    # reference dockerd for compatibility tests and benchmarks
  docker-compose               # the Python docker-compose 1.29, driven against berthd in tests
  python3
)

if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps.sh: run as root (it calls apt-get)" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
# Packages such as docker.io and docker-registry would start their services on install
# (a dockerd with its own bridge and firewall rules, a registry on port 5000). Tests start
# private instances instead, so service starts are refused while installing.
policy=/usr/sbin/policy-rc.d
created_policy=false
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' > "$policy"
  chmod +x "$policy"
  created_policy=true
fi
trap 'if [ "$created_policy" = true ]; then rm -f "$policy"; fi' EXIT
apt-get update -q
apt-get install -y -q --no-install-recommends "${packages[@]}"

# Installed services stay off: tests start their own on private sockets and ports.
if command -v systemctl >/dev/null 2>&1; then
  systemctl disable --now docker-registry docker.service docker.socket containerd >/dev/null 2>&1 || true
fi

if ! command -v cargo >/dev/null 2>&1; then
  echo "install-deps.sh: cargo not found; install a Rust toolchain (rustup) first" >&2
  exit 1
fi

#!/usr/bin/env bash
# Runs every test: unit tests of each crate and the end-to-end tests, which start real
# berthd daemons on private roots and sockets. Needs root (namespaces, mounts, netfilter).
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --workspace --locked
cargo test --workspace --locked -- --test-threads="${BERTH_TEST_THREADS:-2}"

#!/usr/bin/env bash
# Starts berthd on its defaults (socket /var/run/berth.sock, data root /var/lib/berth) in
# the background, waits for it, and shows it working with the berth CLI.
set -euo pipefail
cd "$(dirname "$0")/.."

bin=target/release
[ -x "$bin/berthd" ] || { echo "build first: cargo build --release" >&2; exit 1; }

if ! curl -sf --unix-socket /var/run/berth.sock http://berth/_ping >/dev/null 2>&1; then
  nohup "$bin/berthd" >/var/log/berthd.log 2>&1 &
  echo "berthd started (PID $!), log in /var/log/berthd.log"
  for _ in $(seq 1 200); do
    curl -sf --unix-socket /var/run/berth.sock http://berth/_ping >/dev/null 2>&1 && break
    sleep 0.05
  done
fi

"$bin/berth" version
"$bin/berth" info --format 'berthd {{.ServerVersion}} on {{.OperatingSystem}}, {{.NCPU}} CPUs, root {{.DockerRootDir}}'
echo "The same daemon through its Engine API:"
curl -s --unix-socket /var/run/berth.sock http://berth/v1.41/_ping; echo
echo "Stop it with: kill \$(cat /var/run/berthd.pid)"

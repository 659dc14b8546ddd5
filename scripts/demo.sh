#!/usr/bin/env bash
# Starts berthd on its defaults (socket /var/run/berth.sock, data root /var/lib/berth) in
# the background, loads the busybox test image, and runs real containers with the berth
# CLI: a one-shot command and a busybox httpd with a published port answering curl.
set -euo pipefail
cd "$(dirname "$0")/.."

bin=target/release
[ -x "$bin/berthd" ] || { echo "build first: cargo build --release" >&2; exit 1; }
berth="$bin/berth"

if ! curl -sf --unix-socket /var/run/berth.sock http://berth/_ping >/dev/null 2>&1; then
  nohup "$bin/berthd" >/var/log/berthd.log 2>&1 &
  echo "berthd started (PID $!), log in /var/log/berthd.log"
  for _ in $(seq 1 200); do
    curl -sf --unix-socket /var/run/berth.sock http://berth/_ping >/dev/null 2>&1 && break
    sleep 0.05
  done
fi
"$berth" version

# The test image, built from Debian's busybox-static (no registry needed).
if ! "$berth" image inspect busybox >/dev/null 2>&1; then
  image_tar=$(mktemp /tmp/berth-busybox-XXXXXX.tar)
  bash tests/fixtures/make-busybox-image.sh "$image_tar" >/dev/null
  "$berth" load -i "$image_tar"
  rm -f "$image_tar"
fi
"$berth" images busybox

"$berth" run --rm busybox echo "hello from a Berth container"

# A web server in a container on the default bridge, its port 80 published on the host.
"$berth" rm -f berth-demo-web >/dev/null 2>&1 || true
"$berth" run -d --name berth-demo-web -p 18080:80 busybox \
  sh -c 'mkdir -p /www && echo "hello from busybox httpd in a Berth container" > /www/index.html && exec httpd -f -p 80 -h /www'
"$berth" port berth-demo-web
for _ in $(seq 1 100); do
  curl -sf http://127.0.0.1:18080/ && break
  sleep 0.05
done
"$berth" ps
"$berth" rm -f berth-demo-web >/dev/null
echo "berthd keeps running; stop it with: kill \$(cat /var/run/berthd.pid)"

#!/usr/bin/env bash
# What clients without the key cost a real exserver on loopback.
#
#   scripts/bench-auth.sh [SLOW] [HOLD] [WRONG]     (default 500 180s 20000)
#
# Opens SLOW unauthenticated connections that announce a 200,000-byte body
# and send a byte every 20 s, and counts those the server still holds after
# HOLD; then sends WRONG wrong-key requests and reports how many reached the
# key check per second and how many bytes the server logged for them (at
# once, and after a minute, when the summary lines are due).
# EXSERVER=path runs another build of exserver instead of this tree's.
set -euo pipefail
cd "$(dirname "$0")/.."
slow=${1:-500} hold=${2:-180s} wrong=${3:-20000}
work=$(mktemp -d "${TMPDIR:-/tmp}/exserver-auth.XXXXXX")
srv_pid=""
cleanup() { [ -n "$srv_pid" ] && kill "$srv_pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

go build -o "$work/authprobe" ./scripts/authprobe
exserver=${EXSERVER:-}
if [ -z "$exserver" ]; then
  go build -o "$work/exserver" ./cmd/exserver
  exserver=$work/exserver
fi
"$exserver" init --data "$work/EXCH01" --org Bench --site Lab --name EXCH01 >/dev/null
"$exserver" run --data "$work/EXCH01" --listen 127.0.0.1:0 > "$work/ready" 2> "$work/server.log" &
srv_pid=$!
for _ in $(seq 100); do grep -q ready "$work/ready" 2>/dev/null && break; sleep 0.1; done
read -r _ _ url _ < "$work/ready"
addr=${url#https://}
fds() { ls "/proc/$srv_pid/fd" | wc -l; }

echo "server descriptors at rest: $(fds)"
"$work/authprobe" -addr "$addr" -slow "$slow" -hold "$hold" &
probe=$!
sleep 5
echo "server descriptors 5 s into the slow connections: $(fds)"
wait $probe
echo "server descriptors after: $(fds)"

before=$(stat -c %s "$work/server.log")
"$work/authprobe" -addr "$addr" -wrong "$wrong"
after=$(stat -c %s "$work/server.log")
echo "log bytes for $wrong wrong-key requests: $((after - before)) at once"
sleep 65
late=$(stat -c %s "$work/server.log")
echo "log bytes for $wrong wrong-key requests: $((late - before)) a minute later"

#!/usr/bin/env bash
# Runs the demo organization as three exserver processes on loopback:
# "First Organization", site Redmond with EXCH01 and EXCH02, site Dublin with
# EXCH03. Data lives under $EXBACKUP_HOME/demo and survives restarts.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=bin/exserver
home=${EXBACKUP_HOME:-${XDG_DATA_HOME:-$HOME/.local/share}/exbackup}
demo=$home/demo
mkdir -p "$demo"
pids=()
trap 'kill "${pids[@]}" 2>/dev/null; wait' EXIT INT TERM

start() { # name port
  "$bin" run --data "$demo/$1" --listen "127.0.0.1:$2" > "$demo/$1.out" 2> "$demo/$1.log" &
  pids+=($!)
  for _ in $(seq 100); do grep -q '^ready' "$demo/$1.out" 2>/dev/null && break; sleep 0.1; done
  cat "$demo/$1.out"
}

if [ ! -f "$demo/EXCH01/server.json" ]; then
  "$bin" init --data "$demo/EXCH01" --org "First Organization" --site Redmond --name EXCH01 | tee "$demo/init.out"
fi
key=$(sed -n 's/.*"key": "\(.*\)".*/\1/p' "$demo/EXCH01/server.json")
start EXCH01 17401
for s in "EXCH02 Redmond 17402" "EXCH03 Dublin 17403"; do
  set -- $s
  [ -f "$demo/$1/server.json" ] || "$bin" init --data "$demo/$1" --site "$2" --name "$1" --key "$key" --join 127.0.0.1:17401
  start "$1" "$3"
done
for s in EXCH01 EXCH02 EXCH03; do
  "$bin" load --data "$demo/$s" --mailboxes 5 --messages 50 --public 10 --senders 2
done
echo "demo organization running; try: $bin digest --data $demo/EXCH01   (Ctrl-C stops it)"
wait

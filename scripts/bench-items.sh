#!/usr/bin/env bash
# Item-level recovery of a store set, timed against reading the set.
#
#   scripts/bench-items.sh [MIB]      (default 1024)
#
# Loads about MIB MiB of mail into a real exserver (16 KiB messages, into
# as many mailboxes as make about 10,000 messages each), backs up its
# Information Store, then times:
#   reading the set from the tape:  exbackup verify --tape bench --set 1
#                                   (every file read, CSUM, CRC-32C and
#                                   digest checked, as staging reads it)
#   first browse:                   exbackup browse … Mailboxes (reads the set
#                                   into items/, recovers it, lists)
#   cached browse:                  the same again (reuses the staged copy)
#   restore of a folder:            exbackup restore --item Mailboxes/user0001/Inbox
#                                   --recovered (every message of the folder
#                                   goes into "Recovered Items DATE/Inbox" of
#                                   the running store: none is there yet)
# and the console's peak memory in each: its peak RSS, and the peak of its
# anonymous memory (the RSS without pages of mapped files). Each timed step
# starts after a sync and a pause.
set -euo pipefail
cd "$(dirname "$0")/.."
mib=${1:-1024}
work=$(mktemp -d "${TMPDIR:-/tmp}/exbackup-bench-items.XXXXXX")
srv_pid=""
cleanup() { [ -n "$srv_pid" ] && kill "$srv_pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
export EXBACKUP_HOME=$work/home LC_ALL=C

go build -o "$work/bin/" ./cmd/exserver
go build -o "$work/bin/exbackup" .
B=$work/bin

"$B/exserver" init --data "$work/EXCH01" --org Bench --site Lab --name EXCH01 >/dev/null
"$B/exserver" run --data "$work/EXCH01" --listen 127.0.0.1:0 > "$work/ready" 2> "$work/server.log" &
srv_pid=$!
for _ in $(seq 100); do grep -q ready "$work/ready" 2>/dev/null && break; sleep 0.1; done
read -r _ _ url fp _ < "$work/ready"
key=$(sed -n 's/.*"key": "\(.*\)".*/\1/p' "$work/EXCH01/server.json")

size=16384
msgs=$(( mib * 1024 * 1024 / (size + 400) ))
boxes=$(( (msgs + 5000) / 10000 )); [ "$boxes" -lt 1 ] && boxes=1
echo "loading $msgs messages of $size bytes (~$mib MiB) into $boxes mailboxes…"
"$B/exserver" load --data "$work/EXCH01" --mailboxes "$boxes" --messages "$msgs" --size "$size" --senders 16
"$B/exbackup" connect "${url#https://}" --key "$key" --fingerprint "$fp" >/dev/null
"$B/exbackup" backup IS '\\EXCH01' /tape:bench >/dev/null
tape_bytes=$(stat -c %s "$EXBACKUP_HOME/tapes/bench.bkf")
echo "set 1: $(( tape_bytes / 1048576 )) MiB on tape"

# timed runs a command, its output in $work/out, and prints "seconds
# peak_rss_kib peak_anon_kib": the peak resident size the kernel recorded
# (VmHWM, which counts the pages of mapped database files the command
# read) and the peak of its anonymous memory (heap and stacks), sampled
# every 20 ms from /proc.
timed() {
  local start end pid hwm=0 anon=0 v
  start=$(date +%s.%N)
  "$@" > "$work/out" 2>&1 &
  pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    if [ -r "/proc/$pid/status" ]; then
      v=$(awk '/^VmHWM:/ { print $2 }' "/proc/$pid/status" 2>/dev/null || true); [ -n "$v" ] && [ "$v" -gt "$hwm" ] && hwm=$v
      v=$(awk '/^RssAnon:/ { print $2 }' "/proc/$pid/status" 2>/dev/null || true); [ -n "$v" ] && [ "$v" -gt "$anon" ] && anon=$v
    fi
    sleep 0.02
  done
  wait "$pid" || { cat "$work/out"; exit 1; }
  end=$(date +%s.%N)
  echo "$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.2f", b - a }') $hwm $anon"
}
settle() { sync; sleep 3; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) b = 0.01; printf "%.2f", a / b }'; }

settle
read -r rd_s rd_kb rd_an < <(timed "$B/exbackup" verify --tape bench --set 1)
settle
read -r fb_s fb_kb fb_an < <(timed "$B/exbackup" browse --tape bench --set 1 Mailboxes)
grep -m1 '^Read set' "$work/out" || true
staged=$(du -sb "$EXBACKUP_HOME/items" | cut -f1)
settle
read -r cb_s cb_kb cb_an < <(timed "$B/exbackup" browse --tape bench --set 1 Mailboxes)
grep -m1 '^Using the copy' "$work/out" || true
folder=$(grep -m1 '^user0001/' "$work/out" || true)
settle
read -r rs_s rs_kb rs_an < <(timed "$B/exbackup" restore --tape bench --set 1 --item Mailboxes/user0001/Inbox --recovered)
restored=$(grep -m1 '^Restored .* into ' "$work/out" || true)

peak=$(printf '%s\n' "$rd_kb" "$fb_kb" "$cb_kb" "$rs_kb" | sort -n | tail -1)
peak_anon=$(printf '%s\n' "$rd_an" "$fb_an" "$cb_an" "$rs_an" | sort -n | tail -1)
echo
echo "mailbox user0001:   $folder"
echo "restore said:       $restored"
echo
echo "                                   seconds   peak RSS   of it anonymous"
row() { printf "%-32s %8s   %5s MiB   %5s MiB   %s\n" "$1" "$2" $(( $3 / 1024 )) $(( $4 / 1024 )) "${5:-}"; }
row "read the set (verify)" "$rd_s" "$rd_kb" "$rd_an"
row "first browse (stage + recover)" "$fb_s" "$fb_kb" "$fb_an" "$(ratio "$fb_s" "$rd_s")× the read"
row "cached browse" "$cb_s" "$cb_kb" "$cb_an"
row "restore of user0001's Inbox" "$rs_s" "$rs_kb" "$rs_an"
echo
echo "staged copy: $(( staged / 1048576 )) MiB under items/; console peak RSS $(( peak / 1024 )) MiB, anonymous $(( peak_anon / 1024 )) MiB"
echo "(the rest of the RSS is pages of the staged databases the console read through their mapping)"
echo "targets: first browse within 2× the read, cached browse under 1 s, memory under 150 MiB"

#!/usr/bin/env bash
# Backup and restore against tar on the same data, in one run.
#
#   scripts/bench-backup.sh [MIB]      (default 1024)
#
# Loads about MIB MiB of mail into a real exserver, then times:
#   exbackup backup IS \\EXCH01   against   tar -cf of the store folder + sync
#   exbackup restore (Erase)      against   tar -xf of that archive + sync
# and the console's peak memory (max RSS) in each. Ratios are tar's time over
# exbackup's: 1.0 means as fast as tar, above 1 faster. Each timed step
# starts after a sync, a pause and a page-cache warm-up (WARM=0: none).
set -euo pipefail
cd "$(dirname "$0")/.."
mib=${1:-1024}
work=$(mktemp -d "${TMPDIR:-/tmp}/exbackup-bench.XXXXXX")
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
echo "loading $msgs messages of $size bytes (~$mib MiB)…"
"$B/exserver" load --data "$work/EXCH01" --mailboxes 20 --messages "$msgs" --size "$size" --senders 16
"$B/exbackup" connect "${url#https://}" --key "$key" --fingerprint "$fp" >/dev/null
store_bytes=$(du -sb "$work/EXCH01/mdbdata" | cut -f1)
echo "store folder: $(( store_bytes / 1048576 )) MiB"

timed() { # label, command… → prints "seconds maxrss_kib"
  /usr/bin/time -f "%e %M" -o "$work/time" "$@" > "$work/out" 2>&1 || { cat "$work/out"; exit 1; }
  cat "$work/time"
}

# Each step starts on a quiet machine: for a few seconds after a large
# write burst (the load, a backup, an archive) the system is still busy and
# whatever runs next is slower, whether exbackup or tar. Then it writes and
# deletes a file as large as the store: on some virtual machines the first
# gigabytes written to the page cache after a pause cost several times
# what the next ones do (2,400 MiB: 3.0 s cold, 0.4 s right after), and
# whichever step came first paid it. WARM=0 leaves that out.
settle() {
  sync; sleep 5
  if [ "${WARM:-1}" != 0 ]; then
    dd if=/dev/zero of="$work/warm" bs=1M count=$(( store_bytes / 1048576 )) status=none
    rm -f "$work/warm"; sync
  fi
}
settle
read -r bk_s bk_kb < <(timed "$B/exbackup" backup IS '\\EXCH01' /tape:bench)
settle
read -r tc_s _ < <(timed sh -c "tar -cf '$work/store.tar' -C '$work/EXCH01' mdbdata && sync")
settle
read -r rs_s rs_kb < <(timed "$B/exbackup" restore --tape bench --set 1 --erase --start)
mkdir -p "$work/untar"
settle
read -r tx_s _ < <(timed sh -c "tar -xf '$work/store.tar' -C '$work/untar' && sync")

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) b = 0.01; printf "%.2f", a / b }'; }
tape_bytes=$(stat -c %s "$EXBACKUP_HOME/tapes/bench.bkf")
tar_bytes=$(stat -c %s "$work/store.tar")
mbs() { awk -v s="$tape_bytes" -v t="$1" 'BEGIN { if (t == 0) t = 0.01; printf "%.0f", s / 1048576 / t }'; }
echo
echo "                    exbackup        tar      ratio (tar/exbackup)   exbackup peak RSS"
printf "backup    %10ss (%s MiB/s) %6ss   %s                  %s MiB\n" "$bk_s" "$(mbs "$bk_s")" "$tc_s" "$(ratio "$tc_s" "$bk_s")" $(( bk_kb / 1024 ))
printf "restore   %10ss (%s MiB/s) %6ss   %s                  %s MiB\n" "$rs_s" "$(mbs "$rs_s")" "$tx_s" "$(ratio "$tx_s" "$rs_s")" $(( rs_kb / 1024 ))
echo
echo "moved: exbackup $(( tape_bytes / 1048576 )) MiB onto tape, tar $(( tar_bytes / 1048576 )) MiB (the backup"
echo "truncated the logs it no longer needs; tar ran after it). MiB/s is of the tape."

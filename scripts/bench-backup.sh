#!/usr/bin/env bash
# Backup and restore against tar on the same data, in one run.
#
#   scripts/bench-backup.sh [MIB] [--copy] [--runs N]      (default 1024, 1 run)
#
# Loads about MIB MiB of mail into a real exserver, then times:
#   exbackup backup IS \\EXCH01   against   tar -cf of the store folder + sync
#   exbackup restore (Erase)      against   tar -xf of that archive + sync
# --copy backs up with /t copy, so the set carries every log generation the
# load wrote (a 1024 MiB load leaves about 200) and nothing is truncated;
# its restore is without Erase (rolled forward through the logs, which it
# keeps), so that every run finds the same logs.
# --runs N repeats the timed steps N times on the same data and prints the
# median and range of each ratio.
# It prints each step's time, the console's peak memory (max RSS), and the
# CPU time of each step (exbackup's user + system time plus the server's
# meanwhile; tar's own; the kernel's writeback threads are in neither).
# Ratios are tar's time over exbackup's: 1.0 means as fast as tar, above 1
# faster. Each timed step
# starts after a sync, a pause and a page-cache warm-up (WARM=0: none), and
# then, when run as root, with the page cache emptied (CACHE=keep: not), so
# that exbackup and tar both start from the disk. Without that the order of
# the steps decides who reads from memory: tar archives the store the backup
# has just read into the cache, and extracts the archive it has just written
# there, while exbackup reads and writes tapes and restored databases past
# the page cache (as to a drive), so its backup after a restore and its
# restore read from the disk. On a virtual machine that reports free pages
# to its host, root also holds that reporting off for the run
# (REPORTING=keep: not); see hold_reporting below.
# ENCRYPT=1 makes the console's key first (keys init, the default scrypt
# work factor) and backs up with /encrypt; the restore then unlocks the key
# with --passphrase-file, and its time includes that unlock.
set -euo pipefail
cd "$(dirname "$0")/.."
mib=1024 type=normal runs=1
while [ $# -gt 0 ]; do
  case $1 in
    --copy) type=copy ;;
    --runs) runs=$2; shift ;;
    *) mib=$1 ;;
  esac
  shift
done
work=$(mktemp -d "${TMPDIR:-/tmp}/exbackup-bench.XXXXXX")
srv_pid=""
# A virtual machine with free page reporting hands the memory its guest
# frees (all that emptying the page cache frees) back to the host at once,
# and the next page-cache fill pays a host fault for every block of it.
# tar reads and writes through the page cache and pays; exbackup reads and
# writes past it, into buffers it reuses, and mostly does not: tar's CPU
# time for the same archive swung from 1.3 s to 4.4 s, and its wall time
# with it. Run as root, the script holds the reporting off while it runs
# (freed memory is reported only after a minute) and puts the settings
# back at the end, so that tar's fills cost what they do on a physical
# machine. REPORTING=keep leaves them as they are.
reporting=/sys/module/page_reporting/parameters held=""
hold_reporting() {
  [ "${REPORTING:-hold}" != keep ] && [ -w "$reporting/min_free_ms" ] && [ -w "$reporting/max_waiting_mib" ] || return 0
  held="$(cat "$reporting/min_free_ms") $(cat "$reporting/max_waiting_mib")"
  echo 60000 > "$reporting/min_free_ms" && echo 20000 > "$reporting/max_waiting_mib" || { restore_reporting; held=""; }
}
restore_reporting() {
  [ -n "$held" ] || return 0
  read -r ms mib <<< "$held"
  echo "$ms" > "$reporting/min_free_ms"; echo "$mib" > "$reporting/max_waiting_mib"
}
cleanup() { restore_reporting; [ -n "$srv_pid" ] && kill "$srv_pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$work" "/dev/shm/exbackup-bench-warm.$$"; }
trap cleanup EXIT
hold_reporting
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
bk_args=() rs_args=()
if [ "${ENCRYPT:-0}" = 1 ]; then
  printf 'bench pass phrase\n' > "$work/pass"
  "$B/exbackup" keys init --passphrase-file "$work/pass" >/dev/null 2>&1
  bk_args=(/encrypt) rs_args=(--passphrase-file "$work/pass")
  echo "encrypted: /encrypt, restore with --passphrase-file"
fi
echo "store folder: $(( store_bytes / 1048576 )) MiB, $(find "$work/EXCH01/mdbdata" -maxdepth 1 -name 'edb*.log' | wc -l) log generations"

# The server's CPU seconds so far (user + system), from /proc.
hz=$(getconf CLK_TCK)
server_cpu() { awk -v hz="$hz" '{ printf "%.2f", ($14 + $15) / hz }' "/proc/$srv_pid/stat"; }
timed() { # command… → prints "seconds maxrss_kib cpu_seconds"
  # cpu_seconds is the command's user + system time (with its children's)
  # plus what the server spent meanwhile: the whole job's CPU, on both sides.
  local before after
  before=$(server_cpu)
  /usr/bin/time -f "%e %M %U %S" -o "$work/time" "$@" > "$work/out" 2>&1 || { cat "$work/out"; exit 1; }
  after=$(server_cpu)
  awk -v b="$before" -v a="$after" '{ printf "%s %s %.2f\n", $1, $2, $3 + $4 + a - b }' "$work/time"
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
    dd if=/dev/zero of="$warm" bs=1M count=$(( store_bytes / 1048576 )) status=none
    rm -f "$warm"; sync
  fi
  if [ "$drop" = 1 ]; then echo 3 > /proc/sys/vm/drop_caches; fi
}
# The warm-up goes to memory (/dev/shm) where there is one. Written to the
# disk and deleted, its writeback (and, on a file system mounted with
# discard, the trimming of its blocks) was still under way when the next
# step began. exbackup's backups took 3.1-3.5 s after it against 2.2-2.9 s
# after a warm-up in memory. (tar's times then also moved, 2-2.4 s against
# 3.5-5 s, because of the free page reporting held off above.)
warm=$work/warm
if [ -d /dev/shm ] && [ -w /dev/shm ]; then warm=/dev/shm/exbackup-bench-warm.$$; fi
drop=0
if [ "${CACHE:-drop}" != keep ]; then
  if [ -w /proc/sys/vm/drop_caches ]; then
    drop=1
  else
    echo "not root: the page cache is not emptied before each step, so tar may read from memory what exbackup reads from disk" >&2
  fi
fi
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) b = 0.01; printf "%.2f", a / b }'; }
stats() { # values… → "median (min–max)"
  printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%.2f (%.2f–%.2f)", m, v[1], v[NR] }'
}
erase=--erase
[ "$type" = copy ] && erase=
bk_ratios=() rs_ratios=() bk_cpus=() rs_cpus=()
for run in $(seq "$runs"); do
  rm -rf "$work/untar" "$work/store.tar"
  settle
  read -r bk_s bk_kb bk_c < <(timed "$B/exbackup" backup IS '\\EXCH01' /t "$type" /tape:bench "${bk_args[@]}")
  settle
  read -r tc_s _ tc_c < <(timed sh -c "tar -cf '$work/store.tar' -C '$work/EXCH01' mdbdata && sync")
  settle
  read -r rs_s rs_kb rs_c < <(timed "$B/exbackup" restore --tape bench --set 1 $erase --start "${rs_args[@]}")
  mkdir -p "$work/untar"
  settle
  read -r tx_s _ tx_c < <(timed sh -c "tar -xf '$work/store.tar' -C '$work/untar' && sync")
  bk_ratios+=("$(ratio "$tc_s" "$bk_s")") rs_ratios+=("$(ratio "$tx_s" "$rs_s")")
  bk_cpus+=("$bk_c") rs_cpus+=("$rs_c")
  [ "$runs" -gt 1 ] && echo "run $run: backup $bk_s s (tar $tc_s s, ratio ${bk_ratios[-1]}; CPU $bk_c s, tar $tc_c s), restore $rs_s s (tar $tx_s s, ratio ${rs_ratios[-1]}; CPU $rs_c s, tar $tx_c s)"
done

tape_bytes=$(stat -c %s "$EXBACKUP_HOME/tapes/bench.bkf")
tar_bytes=$(stat -c %s "$work/store.tar")
mbs() { awk -v s="$tape_bytes" -v t="$1" 'BEGIN { if (t == 0) t = 0.01; printf "%.0f", s / 1048576 / t }'; }
echo
echo "                    exbackup        tar      ratio (tar/exbackup)   exbackup peak RSS   CPU s (exbackup and server, tar)"
printf "backup    %10ss (%s MiB/s) %6ss   %s                  %s MiB            %s, %s\n" "$bk_s" "$(mbs "$bk_s")" "$tc_s" "$(ratio "$tc_s" "$bk_s")" $(( bk_kb / 1024 )) "$bk_c" "$tc_c"
printf "restore   %10ss (%s MiB/s) %6ss   %s                  %s MiB            %s, %s\n" "$rs_s" "$(mbs "$rs_s")" "$tx_s" "$(ratio "$tx_s" "$rs_s")" $(( rs_kb / 1024 )) "$rs_c" "$tx_c"
echo
echo "moved: exbackup $(( tape_bytes / 1048576 )) MiB onto tape, tar $(( tar_bytes / 1048576 )) MiB (the backup"
echo "truncated the logs it no longer needs; tar ran after it). MiB/s is of the tape."
if [ "$drop" = 1 ]; then echo "Page cache emptied before each timed step."; else echo "Page cache kept between steps (CACHE=keep or not root)."; fi
if [ -n "$held" ]; then
  echo "Free page reporting held off during the run (put back at the end)."
elif [ -e "$reporting/min_free_ms" ]; then
  echo "Free page reporting left on (REPORTING=keep or not root): tar's page-cache fills may cost several times what they do on a physical machine."
fi
if [ "$runs" -gt 1 ]; then
  echo
  echo "$runs runs, $type backup: backup ratio $(stats "${bk_ratios[@]}"), restore ratio $(stats "${rs_ratios[@]}") (median (range), tar/exbackup)"
  echo "CPU seconds of exbackup and the server: backup $(stats "${bk_cpus[@]}"), restore $(stats "${rs_cpus[@]}")"
fi

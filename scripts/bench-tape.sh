#!/usr/bin/env bash
# Compares the MTF writer and reader with dd on the same disk: 1 GiB, the
# writer synced at the end as dd conv=fsync, the reader from a cold page
# cache when the caches can be dropped (root), after one untimed pass over
# the freshly written file for both. Rounds alternate dd and Go so that both
# meet the same disk weather; the best round of each is compared. The
# figures move with whatever else runs on the machine: the load average is
# printed with them.
#
#   scripts/bench-tape.sh [DIR] [ROUNDS]     DIR defaults to /tmp, ROUNDS to 3
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-/tmp}
rounds=${2:-3}
work=$(mktemp -d "$dir/exbackup-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
bytes=$((1024 * 1024 * 1024))

go test -c -o "$work/tape.test" ./tape >/dev/null

# drop empties the page cache (when allowed) after letting the disk settle
# (deleting a 1 GiB file costs it discards on some mounts).
drop() { sync; sleep 3; echo 3 >/proc/sys/vm/drop_caches 2>/dev/null || true; }

# dd_rate prints dd's bytes per second for the given dd arguments.
dd_rate() {
	local t0 t1
	t0=$(date +%s.%N)
	dd "$@" bs=1M status=none
	t1=$(date +%s.%N)
	echo "$bytes / ($t1 - $t0)" | bc -l
}

# go_rate prints the Go benchmark's bytes per second and its extra metrics.
go_rate() {
	EXBACKUP_BENCH_DIR=$work "$work/tape.test" -test.run '^$' -test.bench "^$1\$" -test.benchtime 1x |
		awk -v b=$bytes '/^Benchmark/ { printf "%.0f", b / ($3 / 1e9); for (i = 5; i < NF; i += 2) printf " %s=%s", $(i+1), $i; print "" }'
}

best() { sort -g | tail -1; }

declare -a ddw ddr gw gr gf
for ((i = 1; i <= rounds; i++)); do
	rm -f "$work/dd.bin"; drop
	ddw+=("$(dd_rate if=/dev/zero of="$work/dd.bin" count=1024 conv=fsync)")
	# An untimed first pass, as the Go read benchmarks have: the first read
	# of freshly written data is slower on some (virtual) disks.
	drop
	dd if="$work/dd.bin" of=/dev/null bs=1M status=none
	drop
	ddr+=("$(dd_rate if="$work/dd.bin" of=/dev/null)")
	rm -f "$work/dd.bin"; drop
	gw+=("$(go_rate BenchmarkWriteSet)")
	gr+=("$(go_rate BenchmarkReadSet)")
	gf+=("$(go_rate BenchmarkReadSetFast)")
done

mb() { awk '{ printf "%.0f", $1 / 1e6 }'; }
ddw_b=$(printf '%s\n' "${ddw[@]}" | best)
ddr_b=$(printf '%s\n' "${ddr[@]}" | best)
gw_b=$(printf '%s\n' "${gw[@]}" | awk '{print $1}' | best)
gr_line=$(printf '%s\n' "${gr[@]}" | sort -g | tail -1)
gf_line=$(printf '%s\n' "${gf[@]}" | sort -g | tail -1)
gr_b=${gr_line%% *}
gf_b=${gf_line%% *}

echo "rounds: $rounds, 1 GiB, disk of $dir (best round of each), load average $(cut -d" " -f1-3 /proc/loadavg)"
printf 'write  dd %6s MB/s   exbackup %6s MB/s   ratio %.2f\n' "$(echo "$ddw_b" | mb)" "$(echo "$gw_b" | mb)" "$(echo "$gw_b / $ddw_b" | bc -l)"
printf 'read   dd %6s MB/s   exbackup %6s MB/s   ratio %.2f   (CSUM, CRC-32C, SHA-256; %s)\n' "$(echo "$ddr_b" | mb)" "$(echo "$gr_b" | mb)" "$(echo "$gr_b / $ddr_b" | bc -l)" "${gr_line#* }"
printf 'read   dd %6s MB/s   exbackup %6s MB/s   ratio %.2f   (CSUM, CRC-32C; %s)\n' "$(echo "$ddr_b" | mb)" "$(echo "$gf_b" | mb)" "$(echo "$gf_b / $ddr_b" | bc -l)" "${gf_line#* }"
if command -v /usr/bin/time >/dev/null; then
	EXBACKUP_BENCH_DIR=$work /usr/bin/time -v "$work/tape.test" -test.run '^$' -test.bench '^BenchmarkReadSet$' -test.benchtime 1x 2>&1 >/dev/null |
		awk -F': ' '/Maximum resident/ { printf "reader process peak RSS %.1f MiB (whole benchmark binary)\n", $2 / 1024 }'
fi

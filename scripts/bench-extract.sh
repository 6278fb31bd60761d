#!/usr/bin/env bash
# Extraction throughput beside dd: BenchmarkExtract extracts a set of 1 GiB
# (four files) to a folder — read from the tape, checked (CSUM, CRC-32C,
# BLAKE3), written under a temporary name, synced, renamed — and dd copies
# as many bytes from one file to another with conv=fsync, on the same disk,
# twice: reading its source from the page cache (it was just read once),
# and reading it past the page cache (iflag=direct), as the extractor
# reads a tape so that a restore does not evict what the machine has
# cached. Run as root, the page cache is emptied before each timed step of
# all three, so that each reads its source from the disk and none is
# favoured by what the one before left cached; otherwise dd's plain run
# reads from the page cache, as the tape's first untimed extraction leaves
# it for exbackup's. Prints the median MiB/s of each, their range over the
# rounds, and the ratios of the medians both ways.
#
#   scripts/bench-extract.sh [DIR] [ROUNDS] [MIB]   DIR defaults to /tmp, ROUNDS to 3, MIB to 1024
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-/tmp}
rounds=${2:-3}
mib=${3:-1024}
bytes=$((mib * 1024 * 1024))
work=$(mktemp -d "$dir/exbackup-extract.XXXXXX")
trap 'rm -rf "$work"' EXIT

cold=0
if [[ $(id -u) == 0 && -w /proc/sys/vm/drop_caches ]]; then cold=1; fi
drop() { if ((cold)); then sync; echo 3 >/proc/sys/vm/drop_caches; fi; }

go test -c -o "$work/tape.test" ./tape >/dev/null
head -c $bytes /dev/urandom >"$work/src.bin"
cat "$work/src.bin" >/dev/null

dd_rate() {
	local t0 t1
	rm -f "$work/dst.bin"; sync; sleep 2
	drop
	t0=$(date +%s.%N)
	dd if="$work/src.bin" of="$work/dst.bin" bs=1M conv=fsync status=none "$@"
	t1=$(date +%s.%N)
	echo "$bytes / ($t1 - $t0) / 1048576" | bc -l
}

go_rate() {
	EXBACKUP_BENCH_DIR=$work EXBACKUP_EXTRACT_BYTES=$bytes EXBACKUP_BENCH_DROP_CACHES=$cold "$work/tape.test" -test.run '^$' -test.bench '^BenchmarkExtract$' -test.benchtime 1x |
		awk '/^BenchmarkExtract/ { print $5 / 1.048576 }' # MB/s → MiB/s
}

median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
range_of() { sort -g | awk 'NR == 1 { lo = $1 } { hi = $1 } END { printf "%.1f–%.1f", lo, hi }'; }
declare -a d dd g
for ((i = 1; i <= rounds; i++)); do
	d+=("$(dd_rate)")
	dd+=("$(dd_rate iflag=direct)")
	g+=("$(go_rate)")
	printf 'round %d: dd %.1f MiB/s, dd iflag=direct %.1f MiB/s, exbackup %.1f MiB/s\n' "$i" "${d[-1]}" "${dd[-1]}" "${g[-1]}"
done
dm=$(printf '%s\n' "${d[@]}" | median)
ddm=$(printf '%s\n' "${dd[@]}" | median)
gm=$(printf '%s\n' "${g[@]}" | median)
cache="page cache emptied before each timed step"
((cold)) || cache="not root: dd's plain run and exbackup read from the page cache"
echo "rounds: $rounds, $mib MiB, disk of $dir, $cache, load average $(cut -d" " -f1-3 /proc/loadavg)"
printf 'dd               %7.1f MiB/s (%s)\n' "$dm" "$(printf '%s\n' "${d[@]}" | range_of)"
printf 'dd iflag=direct  %7.1f MiB/s (%s)\n' "$ddm" "$(printf '%s\n' "${dd[@]}" | range_of)"
printf 'exbackup         %7.1f MiB/s (%s)   ratio to dd %.2f, to dd iflag=direct %.2f\n' \
	"$gm" "$(printf '%s\n' "${g[@]}" | range_of)" "$(echo "$gm / $dm" | bc -l)" "$(echo "$gm / $ddm" | bc -l)"
printf 'dd to exbackup %.2f, dd iflag=direct to exbackup %.2f\n' "$(echo "$dm / $gm" | bc -l)" "$(echo "$ddm / $gm" | bc -l)"

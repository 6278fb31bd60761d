#!/usr/bin/env bash
# Extraction throughput beside dd: BenchmarkExtract extracts a set of 256 MiB
# (four files) to a folder — read from the tape, checked (CSUM, CRC-32C,
# BLAKE3), written under a temporary name, synced, renamed — and dd copies
# as many bytes from one file to another with conv=fsync, on the same disk.
# Both read from the page cache (the tape and dd's source were just
# written and read once). Prints MiB/s of each and the ratio.
#
#   scripts/bench-extract.sh [DIR] [ROUNDS]     DIR defaults to /tmp, ROUNDS to 3
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-/tmp}
rounds=${2:-3}
bytes=$((256 * 1024 * 1024))
work=$(mktemp -d "$dir/exbackup-extract.XXXXXX")
trap 'rm -rf "$work"' EXIT

go test -c -o "$work/tape.test" ./tape >/dev/null
head -c $bytes /dev/urandom >"$work/src.bin"
cat "$work/src.bin" >/dev/null

dd_rate() {
	local t0 t1
	rm -f "$work/dst.bin"; sync; sleep 2
	t0=$(date +%s.%N)
	dd if="$work/src.bin" of="$work/dst.bin" bs=1M conv=fsync status=none
	t1=$(date +%s.%N)
	echo "$bytes / ($t1 - $t0) / 1048576" | bc -l
}

go_rate() {
	EXBACKUP_BENCH_DIR=$work EXBACKUP_EXTRACT_BYTES=$bytes "$work/tape.test" -test.run '^$' -test.bench '^BenchmarkExtract$' -test.benchtime 1x |
		awk '/^BenchmarkExtract/ { print $5 / 1.048576 }' # MB/s → MiB/s
}

best() { sort -g | tail -1; }
declare -a d g
for ((i = 1; i <= rounds; i++)); do
	d+=("$(dd_rate)")
	g+=("$(go_rate)")
done
db=$(printf '%s\n' "${d[@]}" | best)
gb=$(printf '%s\n' "${g[@]}" | best)
echo "rounds: $rounds, 256 MiB, disk of $dir (best round of each), load average $(cut -d" " -f1-3 /proc/loadavg)"
printf 'extract  dd %7.1f MiB/s   exbackup %7.1f MiB/s   ratio %.2f\n' "$db" "$gb" "$(echo "$gb / $db" | bc -l)"

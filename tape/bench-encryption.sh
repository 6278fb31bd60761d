#!/usr/bin/env bash
# What encryption costs a set's writing and reading: 256 MiB (or BYTES)
# written and fsynced, then read back with every check from a cold page
# cache when it can be dropped, plain and encrypted in alternating rounds so
# that both meet the same disk and the same load; the best round of each is
# compared, with the processor time per byte, which moves less with the
# load. The load average is printed with the figures.
#
#   tape/bench-encryption.sh [DIR] [ROUNDS] [BYTES]   defaults: /tmp 5 268435456
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-/tmp}
rounds=${2:-5}
bytes=${3:-268435456}
work=$(mktemp -d "$dir/exbackup-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
go test -c -o "$work/tape.test" ./tape >/dev/null

# run prints the sub-benchmark's MB/s and processor ns per byte.
run() {
	EXBACKUP_BENCH_BYTES=$bytes EXBACKUP_BENCH_DIR=$work "$work/tape.test" -test.run '^$' -test.bench "^BenchmarkEncryption\$/^$1\$" -test.benchtime 2x |
		awk '/^Benchmark/ { for (i = 1; i < NF; i++) { if ($(i+1) == "MB/s") r = $i; if ($(i+1) == "cpu-ns/B") c = $i }; print r, c }'
}

declare -A best cpu
names=(write/plain write/encrypted read/plain read/encrypted)
for ((i = 1; i <= rounds; i++)); do
	for n in "${names[@]}"; do
		read -r r c < <(run "$n")
		if [[ -z ${best[$n]:-} ]] || awk -v a="$r" -v b="${best[$n]}" 'BEGIN { exit !(a > b) }'; then
			best[$n]=$r cpu[$n]=$c
		fi
	done
done
echo "rounds: $rounds, $bytes bytes, disk of $dir (best round of each), load average $(cut -d' ' -f1-3 /proc/loadavg)"
for op in write read; do
	awk -v op="$op" -v p="${best[$op/plain]}" -v e="${best[$op/encrypted]}" -v pc="${cpu[$op/plain]}" -v ec="${cpu[$op/encrypted]}" \
		'BEGIN { printf "%-5s plain %5.0f MB/s (%.2f cpu-ns/B)   encrypted %5.0f MB/s (%.2f cpu-ns/B)   cost %4.1f %%\n", op, p, pc, e, ec, 100 * (1 - e / p) }'
done

#!/usr/bin/env bash
# What encryption costs a set's writing and reading: 256 MiB (or BYTES)
# written and fsynced, then read back with every check from a cold page
# cache when it can be dropped, plain and encrypted in alternating rounds so
# that both meet the same disk and the same load; the best round of each is
# compared. The load average is printed with the figures.
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

# rate prints the benchmark's MB/s.
rate() {
	EXBACKUP_BENCH_BYTES=$bytes EXBACKUP_BENCH_DIR=$work "$work/tape.test" -test.run '^$' -test.bench "^$1\$" -test.benchtime 2x |
		awk '/^Benchmark/ { for (i = 1; i < NF; i++) if ($(i+1) == "MB/s") print $i }'
}

declare -A best
names=(BenchmarkWriteSet BenchmarkWriteSetEncrypted BenchmarkReadSet BenchmarkReadSetEncrypted)
for ((i = 1; i <= rounds; i++)); do
	for n in "${names[@]}"; do
		r=$(rate "$n")
		if [[ -z ${best[$n]:-} ]] || awk -v a="$r" -v b="${best[$n]}" 'BEGIN { exit !(a > b) }'; then
			best[$n]=$r
		fi
	done
done
echo "rounds: $rounds, $bytes bytes, disk of $dir (best round of each), load average $(cut -d' ' -f1-3 /proc/loadavg)"
for op in Write Read; do
	p=${best[Benchmark${op}Set]} e=${best[Benchmark${op}SetEncrypted]}
	awk -v op="$op" -v p="$p" -v e="$e" 'BEGIN { printf "%-5s plain %7.0f MB/s   encrypted %7.0f MB/s   cost %4.1f %%\n", op, p, e, 100 * (1 - e / p) }'
done

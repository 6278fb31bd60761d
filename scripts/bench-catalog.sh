#!/usr/bin/env bash
# Catalog time of a large tape with and without its media based catalog:
# scripts/bigtape writes one set of FILES small files (default 100,000) with
# exbackup's MTF writer in four shapes — exbackup's own with the catalog it
# writes at the end of each set and without it, and another program's (no
# exbackup streams) with and without — and `exbackup catalog --tape` of
# each runs ROUNDS times into a fresh home. The tapes were just written, so
# they are read from the page cache. exbackup reads a tape with a media
# based catalog from it, its own sets with the digest table beside it that
# gives the files' digests the catalog keeps, and one without from its
# blocks. Prints the median seconds of each, with their range.
#
#   scripts/bench-catalog.sh [DIR] [ROUNDS] [FILES]   DIR defaults to /tmp, ROUNDS to 3, FILES to 100000
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-/tmp}
rounds=${2:-3}
files=${3:-100000}
work=$(mktemp -d "$dir/exbackup-catalog.XXXXXX")
trap 'rm -rf "$work"' EXIT

go build -o "$work/exbackup" .
go build -o "$work/bigtape" ./scripts/bigtape
"$work/bigtape" -files "$files" -dir "$work" >/dev/null

median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
range_of() { sort -g | awk 'NR == 1 { lo = $1 } { hi = $1 } END { printf "%.2f–%.2f", lo, hi }'; }

echo "rounds: $rounds, $files files in one set, load average $(cut -d" " -f1-3 /proc/loadavg)"
for v in own-mbc own plain-mbc plain; do
	cat "$work/$v.bkf" >/dev/null
	declare -a s=()
	for ((i = 1; i <= rounds; i++)); do
		rm -rf "$work/home"
		t0=$(date +%s.%N)
		EXBACKUP_HOME=$work/home "$work/exbackup" catalog --tape "$work/$v.bkf" >"$work/out.txt"
		t1=$(date +%s.%N)
		s+=("$(echo "$t1 - $t0" | bc -l)")
	done
	how=blocks
	if grep -q "media based catalog" "$work/out.txt"; then how="media based catalog"; fi
	printf '%-10s %6.1f MiB  catalog %6.2f s (%s)  read from its %s\n' "$v" "$(echo "$(stat -c %s "$work/$v.bkf") / 1048576" | bc -l)" \
		"$(printf '%s\n' "${s[@]}" | median)" "$(printf '%s\n' "${s[@]}" | range_of)" "$how"
done

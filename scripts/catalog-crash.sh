#!/usr/bin/env bash
# Crash consistency of the catalog against the tapes.
#
#   scripts/catalog-crash.sh [ROUNDS]      (default 30)
#
# Runs a real exserver and, ROUNDS times, kills the console with SIGKILL at
# a random instant of one of:
#   backup   exbackup backup IS \\EXCH01 /a /tape:Crash (a set being written)
#   catalog  exbackup catalog --tape Crash             (a tape being cataloged)
#   rebuild  exbackup tapes, after catalog.db was cut short: the rebuild
#            of a damaged catalog from every tape at open
# After each kill, `exbackup tapes` must succeed (the catalog opens, or is
# rebuilt) and list exactly the complete sets that a rescan of the same
# tapes lists: the tapes copied into a home with no catalog at all.
# Prints one line per round and a closing "N passed, N failed" line; exits
# non-zero when a round failed.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-30}
work=$(mktemp -d "${TMPDIR:-/tmp}/exbackup-crash.XXXXXX")
srv_pid=""
cleanup() {
	if [ -n "$srv_pid" ]; then kill "$srv_pid" 2>/dev/null || true; fi
	wait 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT
export EXBACKUP_HOME=$work/home LC_ALL=C

B=${BIN:-$work/bin}
if [ -z "${BIN:-}" ]; then
	go build -o "$B/" ./cmd/exserver
	go build -o "$B/exbackup" .
fi

"$B/exserver" init --data "$work/EXCH01" --org Crash --site Lab --name EXCH01 >/dev/null
"$B/exserver" run --data "$work/EXCH01" --listen 127.0.0.1:0 >"$work/ready" 2>"$work/server.log" &
srv_pid=$!
for _ in $(seq 100); do grep -q ready "$work/ready" 2>/dev/null && break; sleep 0.1; done
read -r _ _ url fp <"$work/ready"
key=$(sed -n 's/.*"key": "\(.*\)".*/\1/p' "$work/EXCH01/server.json")
"$B/exserver" load --data "$work/EXCH01" --mailboxes 10 --messages "${MESSAGES:-8000}" --size 8192 >/dev/null
"$B/exbackup" connect "${url#https://}" --key "$key" --fingerprint "$fp" >/dev/null
# A library of several tapes, so that a rebuild has some work to do.
for n in 1 2 3 4 5 6; do "$B/exbackup" backup DS '\\EXCH01' "/tape:Directory $n" >/dev/null; done

# elapsed COMMAND…: runs it and prints how long it took, in microseconds.
elapsed() {
	local t0
	t0=$(date +%s%N)
	"$@" >/dev/null 2>&1 || true
	echo $((($(date +%s%N) - t0) / 1000))
}
# fastest RUNS COMMAND…: the shortest of RUNS uninterrupted runs (the first
# ones pay for cold caches), in microseconds.
fastest() {
	local n=$1 best=0 t
	shift
	for _ in $(seq "$n"); do
		t=$(elapsed "$@")
		if [ "$best" -eq 0 ] || [ "$t" -lt "$best" ]; then best=$t; fi
	done
	echo "$best"
}
"$B/exbackup" backup IS '\\EXCH01' /tape:Crash >/dev/null
t_backup=$(fastest 2 "$B/exbackup" backup IS '\\EXCH01' /a /tape:Crash)
t_catalog=$(fastest 3 "$B/exbackup" catalog --tape Crash)
rebuild() {
	truncate -s 16384 "$EXBACKUP_HOME/catalog.db"
	"$B/exbackup" tapes
}
t_rebuild=$(fastest 3 rebuild)
echo "uninterrupted, fastest: backup $((t_backup / 1000)) ms, catalog --tape $((t_catalog / 1000)) ms, tapes with a rebuild of 7 tapes $((t_rebuild / 1000)) ms"

# complete_sets HOME: the complete sets `exbackup tapes` lists, one line
# each, by tape name, set number, type and stores; the file's path and the
# verify mark left out.
complete_sets() {
	EXBACKUP_HOME=$1 "$B/exbackup" tapes 2>"$1.err" >"$1.out" || return 1
	awk '/^"/ { split($0, q, "\""); tape = q[2] }
	     /^  set / && / complete/ { print tape, $2, $3, $4, $5, $6, $7, $8 }' "$1.out" | sort
}

# kill_at MICROSECONDS COMMAND…: starts the command and kills it -9 after
# that long (or lets it finish first).
kill_at() {
	local us=$1
	shift
	"$@" >/dev/null 2>&1 &
	local pid=$! rc=0
	sleep "$(printf '%d.%06d' $((us / 1000000)) $((us % 1000000)))"
	kill -9 "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || rc=$?
	case $rc in
	137) echo killed ;;
	0) echo finished ;;
	*) echo "failed($rc)" ;; # a server still holding a killed backup's session, say
	esac
}

pass=0 fail=0 killed=0
kinds=(backup catalog rebuild)
for r in $(seq "$rounds"); do
	kind=${kinds[$((r % 3))]}
	# A random instant of the command's run, as timed above.
	pick() { echo $(((RANDOM * 32768 + RANDOM) % ($1 + 1))); }
	case $kind in
	backup)
		us=$(pick "$t_backup")
		what=$(kill_at "$us" "$B/exbackup" backup IS '\\EXCH01' /a /tape:Crash)
		;;
	catalog)
		us=$(pick "$t_catalog")
		what=$(kill_at "$us" "$B/exbackup" catalog --tape Crash)
		;;
	rebuild)
		db=$EXBACKUP_HOME/catalog.db
		size=$(stat -c %s "$db")
		truncate -s $((size / 2)) "$db"
		us=$(pick "$t_rebuild")
		what=$(kill_at "$us" "$B/exbackup" tapes)
		;;
	esac
	ms=$((us / 1000))
	# A little mail between rounds, so that every backup has new logs.
	"$B/exserver" load --data "$work/EXCH01" --mailboxes 1 --messages 20 --size 2048 >/dev/null 2>&1 || true

	rm -rf "$work/rescan" "$work/rescan".*
	mkdir -p "$work/rescan"
	cp -r "$EXBACKUP_HOME/tapes" "$work/rescan/tapes"
	verdict=ok
	if ! got=$(complete_sets "$EXBACKUP_HOME"); then
		verdict="exbackup tapes failed: $(head -c 300 "$EXBACKUP_HOME.err")"
	elif ! want=$(complete_sets "$work/rescan"); then
		verdict="the rescan failed: $(head -c 300 "$work/rescan.err")"
	elif [ "$got" != "$want" ]; then
		verdict="catalog and rescan differ: $(diff <(echo "$want") <(echo "$got") | tr '\n' ' ' | head -c 300)"
	elif [ -z "$got" ]; then
		verdict="no complete set listed"
	fi
	notice=$(grep -o 'The catalog [^;(]*' "$EXBACKUP_HOME.err" | head -1 || true)
	sets=$(echo "$got" | grep -c . || true)
	if [ "$what" = killed ]; then killed=$((killed + 1)); fi
	if [ "$verdict" = ok ]; then
		pass=$((pass + 1))
	else
		fail=$((fail + 1))
	fi
	printf 'round %2d  %-7s %3d ms  %-8s  %2d complete sets  %-5s %s\n' "$r" "$kind" "$ms" "$what" "$sets" "$verdict" "$notice"
done
aside=$(ls "$EXBACKUP_HOME" | grep -c 'catalog.db.damaged-' || true)
echo "rounds killed mid-run: $killed of $rounds; damaged catalogs moved aside: $aside"
echo "catalog-crash: $pass passed, $fail failed"
[ "$fail" -eq 0 ]

#!/bin/sh
# memory.sh [BINARY] — the console's memory after it starts, under Xvfb, on
# a fresh home with the demo organization: resident size, how much of it
# is anonymous (the Go heap and the C heap of the GL driver) and how much
# is mapped files (the binary, the GL driver's libraries), the largest
# mappings, and the Go heap from the runtime's collection trace.
#   scripts/memory.sh                 builds bin/exbackup first (as released: -tags no_emoji)
#   scripts/memory.sh /path/exbackup  measures that binary
# The console's own heap after backups and restores is measured by
#   go test -run '^$' -bench DemoMemory -benchtime 1x ./app
set -eu
cd "$(dirname "$0")/.."
bin=${1:-}
if [ -z "$bin" ]; then
	go build -tags no_emoji -o bin/exbackup . && bin=bin/exbackup
fi
wait=${WAIT:-25}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
EXBACKUP_HOME="$tmp/home" XDG_CONFIG_HOME="$tmp/config" GODEBUG=gctrace=1 \
	xvfb-run -a -s "-screen 0 1280x900x24" "$bin" >"$tmp/out" 2>&1 &
sleep "$wait"
pid=""
for p in $(pgrep -f "$(basename "$bin")"); do
	# the console itself, not xvfb-run: the one whose home is ours and
	# whose executable is the binary
	if [ "$(readlink "/proc/$p/exe")" = "$(readlink -f "$bin")" ] &&
		grep -q "EXBACKUP_HOME=$tmp/home" "/proc/$p/environ" 2>/dev/null; then pid=$p; fi
done
if [ -z "$pid" ]; then
	echo "the console did not start:" >&2
	cat "$tmp/out" >&2
	exit 1
fi
echo "console $bin, pid $pid, ${wait}s after start:"
grep -E '^(VmRSS|RssAnon|RssFile|RssShmem)' "/proc/$pid/status"
echo "largest mappings (RSS kB):"
awk '/^[0-9a-f]+-/{name=$6; if(name=="") name="[anonymous]"} /^Rss:/{r[name]+=$2} END{for(n in r) if(r[n]>=2048) print "  " r[n], n}' \
	"/proc/$pid/smaps" | sort -rn
echo "Go heap at the last collection (before->after->live MB, goal):"
grep '^gc ' "$tmp/out" | tail -1 | sed 's/.*ms cpu, //'
kill "$pid"
wait 2>/dev/null || true

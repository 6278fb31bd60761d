#!/usr/bin/env bash
# Pictures of every window and dialog of the real console, run under Xvfb
# against a real organization:
#
#   scripts/screenshots.sh [DIR]        # default docs/screenshots
#
# The window is photographed at each size of SIZES (default "1280x800
# 800x600"): the first size's pictures go into DIR, the others' into
# DIR/WIDTHxHEIGHT (docs/screenshots/800x600).
#
# It builds bin/exserver and bin/exbackup-screenshots (the console with the
# screenshot tour, which a product build leaves out: go build -tags
# screenshots), starts three exserver processes on
# loopback (EXCH01 and EXCH02 in site Redmond, EXCH03 in Dublin), connects a
# temporary EXBACKUP_HOME to them, loads some mail and writes a few backups
# with the command line (so the Tapes window and Restore Information show
# real tapes and sets; an old NT Backup tape, tape/mtf/testdata, is
# cataloged first for the file-set pictures), then runs the GUI with EXBACKUP_SCREENSHOTS=DIR, which
# opens each window and dialog in turn, saves DIR/NN-name.png and exits.
#
# To photograph another organization instead, give one of its servers:
#   EXSERVER_ADDR=host:port EXSERVER_KEY=key [EXSERVER_FINGERPRINT=sha256:…]
# (nothing is backed up then: the Tapes window shows what the temporary
# catalog holds, and the restore dialogs use sample sets).
# EXBACKUP_BIN runs another console binary (built with -tags screenshots)
# for the pictures.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/deps.sh
export CGO_ENABLED=1

out=${1:-docs/screenshots}
mkdir -p "$out" bin
out=$(cd "$out" && pwd)

echo "== building bin/exserver and bin/exbackup-screenshots"
go build -o bin/ ./cmd/exserver
go build -tags screenshots -o bin/exbackup-screenshots .
console=${EXBACKUP_BIN:-bin/exbackup-screenshots}

work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
export EXBACKUP_HOME=$work/home

# start NAME: runs the server whose data is in $work/NAME and sets addr and
# fp from its "ready NAME https://HOST:PORT sha256:…" line.
start() {
  local name=$1 log=$work/$1.out
  bin/exserver run --data "$work/$name" --listen 127.0.0.1:0 >"$log" 2>"$work/$name.err" &
  pids+=($!)
  for _ in $(seq 1 100); do
    if read -r word _ url fp _ < <(grep '^ready ' "$log" 2>/dev/null); then
      addr=${url#https://}
      return 0
    fi
    sleep 0.1
  done
  echo "exserver $name did not start:" >&2
  cat "$work/$name.err" >&2
  exit 1
}

if [ -n "${EXSERVER_ADDR:-}" ]; then
  echo "== connecting to $EXSERVER_ADDR"
  bin/exbackup-screenshots connect "$EXSERVER_ADDR" --key "${EXSERVER_KEY:?EXSERVER_KEY is needed with EXSERVER_ADDR}" \
    ${EXSERVER_FINGERPRINT:+--fingerprint "$EXSERVER_FINGERPRINT"} </dev/null
else
  echo "== starting EXCH01, EXCH02 (Redmond) and EXCH03 (Dublin)"
  key=$(bin/exserver init --data "$work/EXCH01" --org "First Organization" --site Redmond --name EXCH01 | sed -n 's/^access key: //p')
  start EXCH01
  first=$addr first_fp=$fp
  bin/exserver init --data "$work/EXCH02" --site Redmond --name EXCH02 --key "$key" --join "$first" --join-fingerprint "$first_fp" >/dev/null
  start EXCH02
  bin/exserver init --data "$work/EXCH03" --site Dublin --name EXCH03 --key "$key" --join "$first" --join-fingerprint "$first_fp" >/dev/null
  start EXCH03
  bin/exbackup-screenshots connect "$first" --key "$key" --fingerprint "$first_fp"
  for s in EXCH01 EXCH02 EXCH03; do
    bin/exserver load --data "$work/$s" --mailboxes 4 --messages 60 --public 10 >/dev/null
  done

  echo "== the console's key (the pass phrase is only for these pictures)"
  printf 'screenshot pass phrase\n' >"$work/pass"
  bin/exbackup-screenshots keys init --passphrase-file "$work/pass" --work-factor 12 >/dev/null 2>&1

  echo "== cataloging an old NT Backup tape (its file sets open as folders in the Tapes window)"
  # From the temporary folder, so the pictures name no path of this clone.
  cp tape/mtf/testdata/foreign-2001.bkf "$work/foreign-2001.bkf"
  bin/exbackup-screenshots catalog --tape "$work/foreign-2001.bkf" >/dev/null
  echo "== writing tapes"
  bin/exbackup-screenshots backup DS '\\EXCH02' IS '\\EXCH02' /d "Weekly full" /tape:"Monday full"
  bin/exbackup-screenshots backup DS '\\EXCH01' IS '\\EXCH01' /d "Nightly" /v
  bin/exserver load --data "$work/EXCH01" --mailboxes 2 --messages 20 >/dev/null
  bin/exbackup-screenshots backup IS '\\EXCH01' /a /t incremental /d "Midday" /encrypt
  bin/exbackup-screenshots tapes
fi

primary=1
for size in ${SIZES:-1280x800 800x600}; do
  dir=$out
  [ -n "$primary" ] || dir=$out/$size
  primary=
  mkdir -p "$dir"
  echo "== photographing the console at $size under Xvfb"
  rm -f "$dir"/[0-9][0-9]-*.png
  EXBACKUP_SCREENSHOTS=$dir EXBACKUP_SCREENSHOT_SIZE=$size xvfb-run -a -s "-screen 0 1920x1200x24" "$console"
  n=$(ls "$dir"/[0-9][0-9]-*.png 2>/dev/null | wc -l)
  if [ "$n" -lt 18 ]; then
    echo "only $n pictures in $dir" >&2
    exit 1
  fi
  ls -1 "$dir"/[0-9][0-9]-*.png
done

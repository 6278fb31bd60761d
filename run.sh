#!/usr/bin/env bash
# Installs what is missing, builds, and runs the console on the built-in demo
# organization (data under $EXBACKUP_HOME, default ~/.local/share/exbackup).
set -euo pipefail
cd "$(dirname "$0")"
source scripts/deps.sh
export CGO_ENABLED=1
mkdir -p bin
go build -o bin/ ./cmd/exserver
if [ -f main.go ]; then
  go build -o bin/exbackup .
  exec bin/exbackup "$@"
fi
exec scripts/demo-servers.sh

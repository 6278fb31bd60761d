#!/usr/bin/env bash
# Installs what is missing, builds, and runs the console. With no
# organization configured it opens on the built-in demo organization (data
# under $EXBACKUP_HOME, default ~/.local/share/exbackup).
set -euo pipefail
cd "$(dirname "$0")"
source scripts/deps.sh
export CGO_ENABLED=1
mkdir -p bin
echo "building (the first build compiles Fyne's OpenGL driver: a few minutes)…"
go build -o bin/exserver ./cmd/exserver
go build -tags no_emoji -o bin/exbackup .
exec bin/exbackup "$@"

#!/usr/bin/env bash
# The whole test suite: vet, then every test (unit, GUI through Fyne's test
# driver, end-to-end through the real binaries and servers) with the race
# detector. Installs what is missing first.
set -euo pipefail
cd "$(dirname "$0")"
source scripts/deps.sh
export CGO_ENABLED=1
echo "== go vet -tags ci ./..."
go vet -tags ci ./...
echo "== go test -race -tags ci ./..."
go test -race -tags ci -timeout 20m -count=1 ./...

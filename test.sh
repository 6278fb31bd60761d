#!/usr/bin/env bash
# The whole test suite: gofmt, vet, staticcheck, then every test (unit, GUI
# through Fyne's test driver, end-to-end through the real binaries and
# servers) with the race detector. Installs what is missing first.
set -euo pipefail
cd "$(dirname "$0")"
source scripts/deps.sh
export CGO_ENABLED=1
echo "== gofmt -l ."
unformatted=$(gofmt -l .)
if [ -n "$unformatted" ]; then
  echo "not formatted (gofmt -w them):" >&2
  echo "$unformatted" >&2
  exit 1
fi
echo "== go vet -tags ci ./..."
go vet -tags ci ./...
# staticcheck at a pinned version, built once into bin/ through the module
# proxy (go run pkg@version would ask the proxy again on every run); it is
# rebuilt with a new Go, whose packages it must be built to read.
staticcheck_version=v0.8.2 # staticcheck 2026.2.2
staticcheck=bin/staticcheck-$staticcheck_version-$(go env GOVERSION)
if [ ! -x "$staticcheck" ]; then
  echo "== building staticcheck $staticcheck_version"
  tools=$(mktemp -d)
  GOBIN=$tools go install honnef.co/go/tools/cmd/staticcheck@$staticcheck_version
  mkdir -p bin
  mv "$tools/staticcheck" "$staticcheck"
  rm -rf "$tools"
fi
echo "== staticcheck -tags ci ./..."
"$staticcheck" -tags ci ./...
echo "== go test -race -tags ci ./..."
go test -race -tags ci -timeout 20m -count=1 ./...

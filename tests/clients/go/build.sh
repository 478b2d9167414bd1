#!/usr/bin/env bash
# Builds the franz-go client check into ./client-check (modules from the Go module proxy).
set -euo pipefail
cd "$(dirname "$0")"
go build -o client-check .
echo "go client: built $(pwd)/client-check"

#!/usr/bin/env bash
# Builds the franz-go client check into ./client-check and the consumer-group member into
# ./group-member (modules from the Go module proxy).
set -euo pipefail
cd "$(dirname "$0")"
go build -o client-check .
go build -o group-member ./groupmember
echo "go client: built $(pwd)/client-check $(pwd)/group-member"

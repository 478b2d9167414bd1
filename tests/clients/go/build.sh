#!/usr/bin/env bash
# Builds the franz-go client check into ./client-check and the consumer-group member into
# ./group-member and the transactional client into ./transactions-client (modules from the Go
# module proxy).
set -euo pipefail
cd "$(dirname "$0")"
go build -o client-check .
go build -o group-member ./groupmember
go build -o transactions-client ./transactions
echo "go client: built $(pwd)/client-check $(pwd)/group-member $(pwd)/transactions-client"

#!/usr/bin/env bash
# Runs the franz-go transactional client; see transactions/main.go for the arguments.
set -euo pipefail
DIR="$(cd "$(dirname "$0")" && pwd)"
if [[ ! -x "$DIR/transactions-client" ]]; then
    echo "transactions.sh: $DIR/transactions-client missing, run $DIR/build.sh first" >&2
    exit 1
fi
exec "$DIR/transactions-client" "$@"

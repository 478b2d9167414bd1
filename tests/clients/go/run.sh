#!/usr/bin/env bash
# Runs the franz-go client check; see main.go for the arguments.
set -euo pipefail
DIR="$(cd "$(dirname "$0")" && pwd)"
if [[ ! -x "$DIR/client-check" ]]; then
    echo "FAIL franz-go: $DIR/client-check missing, run $DIR/build.sh first" >&2
    exit 1
fi
exec "$DIR/client-check" "$@"

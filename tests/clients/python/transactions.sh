#!/usr/bin/env bash
# Runs the librdkafka (confluent-kafka) transactional client; see transactions.py for the arguments.
set -euo pipefail
DIR="$(cd "$(dirname "$0")" && pwd)"
if [[ ! -x "$DIR/.venv/bin/python" ]]; then
    echo "transactions.sh: $DIR/.venv missing, run $DIR/build.sh first" >&2
    exit 1
fi
exec "$DIR/.venv/bin/python" -u "$DIR/transactions.py" "$@"

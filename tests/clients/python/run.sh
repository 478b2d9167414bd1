#!/usr/bin/env bash
# Runs the librdkafka (confluent-kafka) client check; see client_check.py for the arguments.
set -euo pipefail
DIR="$(cd "$(dirname "$0")" && pwd)"
if [[ ! -x "$DIR/.venv/bin/python" ]]; then
    echo "FAIL librdkafka: $DIR/.venv missing, run $DIR/build.sh first" >&2
    exit 1
fi
exec "$DIR/.venv/bin/python" "$DIR/client_check.py" "$@"

#!/usr/bin/env bash
# Kafka-behaviour checks with librdkafka (confluent-kafka); see compat_check.py for each subcommand.
# Usage: compat.sh SUBCOMMAND --bootstrap HOST:PORT --topic T [more]
set -euo pipefail
DIR="$(cd "$(dirname "$0")" && pwd)"
if [[ ! -x "$DIR/.venv/bin/python" ]]; then
    echo "FAIL compat: $DIR/.venv missing, run $DIR/build.sh first" >&2
    exit 1
fi
exec "$DIR/.venv/bin/python" "$DIR/compat_check.py" "$@"

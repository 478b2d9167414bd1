#!/usr/bin/env bash
# Runs the librdkafka (confluent-kafka) consumer-group member; see group_member.py for the arguments.
set -euo pipefail
DIR="$(cd "$(dirname "$0")" && pwd)"
if [[ ! -x "$DIR/.venv/bin/python" ]]; then
    echo "group-member.sh: $DIR/.venv missing, run $DIR/build.sh first" >&2
    exit 1
fi
exec "$DIR/.venv/bin/python" -u "$DIR/group_member.py" "$@"

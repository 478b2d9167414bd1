#!/usr/bin/env bash
# Runs the franz-go consumer-group member; see groupmember/main.go for the arguments.
set -euo pipefail
DIR="$(cd "$(dirname "$0")" && pwd)"
if [[ ! -x "$DIR/group-member" ]]; then
    echo "group-member.sh: $DIR/group-member missing, run $DIR/build.sh first" >&2
    exit 1
fi
exec "$DIR/group-member" "$@"

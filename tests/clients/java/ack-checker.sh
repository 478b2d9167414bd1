#!/usr/bin/env bash
# Run the no-loss checker for fault injection (build.sh first). Args: see shardlog.AckChecker.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
[[ -d "$HERE/target/classes" && -d "$HERE/target/lib" ]] || { echo "ack-checker.sh: not built; run $HERE/build.sh" >&2; exit 2; }
exec "${JAVA:-java}" -cp "$HERE/target/classes:$HERE/target/lib/*" shardlog.AckChecker "$@"

#!/usr/bin/env bash
# Run the Java client driver (build.sh first). Args: see shardlog.ClientCheck.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
[[ -d "$HERE/target/classes" && -d "$HERE/target/lib" ]] || { echo "run.sh: not built; run $HERE/build.sh" >&2; exit 2; }
exec "${JAVA:-java}" -cp "$HERE/target/classes:$HERE/target/lib/*" shardlog.ClientCheck "$@"

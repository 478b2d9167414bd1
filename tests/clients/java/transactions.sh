#!/usr/bin/env bash
# Run the Java transactional client (build.sh first). Args: see shardlog.Transactions.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
[[ -d "$HERE/target/classes" && -d "$HERE/target/lib" ]] || { echo "transactions.sh: not built; run $HERE/build.sh" >&2; exit 2; }
exec "${JAVA:-java}" -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Xmx256m -cp "$HERE/target/classes:$HERE/target/lib/*" shardlog.Transactions "$@"

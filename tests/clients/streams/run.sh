#!/usr/bin/env bash
# Run the Kafka Streams driver (build.sh first). Args: see shardlog.StreamsCheck.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
[[ -d "$HERE/target/classes" && -d "$HERE/target/lib" ]] || { echo "run.sh: not built; run $HERE/build.sh" >&2; exit 2; }
exec "${JAVA:-java}" -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Xmx384m -cp "$HERE/target/classes:$HERE/target/lib/*" shardlog.StreamsCheck "$@"

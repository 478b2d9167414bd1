#!/usr/bin/env bash
# Print the partition the Java client picks for each key (build.sh first). Args: BOOTSTRAP TOPIC KEY...
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
[[ -d "$HERE/target/classes" && -d "$HERE/target/lib" ]] || { echo "key-partitions.sh: not built; run $HERE/build.sh" >&2; exit 2; }
exec "${JAVA:-java}" -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -cp "$HERE/target/classes:$HERE/target/lib/*" shardlog.KeyPartitions "$@"

#!/usr/bin/env bash
# Run the Java consumer-group member (build.sh first). Args: see shardlog.GroupMember.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
[[ -d "$HERE/target/classes" && -d "$HERE/target/lib" ]] || { echo "group-member.sh: not built; run $HERE/build.sh" >&2; exit 2; }
exec "${JAVA:-java}" -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Xmx256m -cp "$HERE/target/classes:$HERE/target/lib/*" shardlog.GroupMember "$@"

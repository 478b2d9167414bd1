#!/usr/bin/env bash
# Kafka-behaviour checks with the Java client (build.sh first); see Compat.java for each subcommand.
# Usage: compat.sh SUBCOMMAND --bootstrap HOST:PORT --topic T [more]
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
[[ -d "$HERE/target/classes" && -d "$HERE/target/lib" ]] || { echo "compat.sh: not built; run $HERE/build.sh" >&2; exit 2; }
exec "${JAVA:-java}" -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -cp "$HERE/target/classes:$HERE/target/lib/*" shardlog.Compat "$@"

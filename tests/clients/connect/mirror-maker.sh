#!/usr/bin/env bash
# Run MirrorMaker 2 in dedicated mode (build.sh first): mirror-maker.sh MM2.properties
# Logs (INFO, or CONNECT_LOG_LEVEL) go to stderr.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
[[ -d "$HERE/target/lib" ]] || { echo "mirror-maker.sh: not built; run $HERE/build.sh" >&2; exit 2; }
exec "${JAVA:-java}" -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Xmx512m \
  -Dorg.slf4j.simpleLogger.defaultLogLevel="${CONNECT_LOG_LEVEL:-info}" \
  -Dorg.slf4j.simpleLogger.showDateTime=true -Dorg.slf4j.simpleLogger.dateTimeFormat=HH:mm:ss.SSS \
  -cp "$HERE/target/lib/*" org.apache.kafka.connect.mirror.MirrorMaker "$@"

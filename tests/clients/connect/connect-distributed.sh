#!/usr/bin/env bash
# Run a Kafka Connect distributed worker (build.sh first): connect-distributed.sh WORKER.properties
# Logs (INFO, or CONNECT_LOG_LEVEL) go to stderr.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
[[ -d "$HERE/target/lib" ]] || { echo "connect-distributed.sh: not built; run $HERE/build.sh" >&2; exit 2; }
exec "${JAVA:-java}" -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Xmx512m \
  -Dorg.slf4j.simpleLogger.defaultLogLevel="${CONNECT_LOG_LEVEL:-info}" \
  -Dorg.slf4j.simpleLogger.showDateTime=true -Dorg.slf4j.simpleLogger.dateTimeFormat=HH:mm:ss.SSS \
  -cp "$HERE/target/lib/*" org.apache.kafka.connect.cli.ConnectDistributed "$@"

#!/usr/bin/env bash
# Fetch Kafka Connect (runtime, FileStream connectors) and MirrorMaker 2: every runtime jar in target/lib.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
# A stale lib/ from another version would put two releases on the classpath.
rm -rf target/lib
mvn -q -B dependency:copy-dependencies -DoutputDirectory=target/lib -DincludeScope=runtime

#!/usr/bin/env bash
# Build the Kafka Streams driver: classes in target/classes, runtime jars in target/lib.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
mvn -q -B package dependency:copy-dependencies -DoutputDirectory=target/lib -DincludeScope=runtime

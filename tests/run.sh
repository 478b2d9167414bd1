#!/usr/bin/env bash
# The whole test suite on a fresh machine: installs what it needs (Debian packages, PyPI, Maven, Go
# modules, crates), builds the client drivers, checks format and lints, runs every test, fuzzes briefly.
# Usage: bash tests/run.sh        (FUZZ_SECONDS=0 skips the fuzz step, for quick local runs)
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-2}"
FUZZ_SECONDS="${FUZZ_SECONDS:-30}"

step() { printf '\n== %s\n' "$*"; }
have() { command -v "$1" >/dev/null 2>&1; }
apt_updated=""
apt_install() {
  [ -n "$apt_updated" ] || { apt-get update -qq; apt_updated=1; }
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@"
}

step "toolchains"
have cargo || apt_install cargo rustc
have java || apt_install openjdk-17-jdk-headless
have mvn || apt_install maven
have go || apt_install golang-go
have python3 || apt_install python3
# perf/compare.sh (tests/it/perf_smoke.rs) makes its TLS certificates with the openssl CLI.
have openssl || apt_install openssl
python3 -c 'import venv, ensurepip' 2>/dev/null || apt_install python3-venv
if have rustup; then
  rustup component add clippy rustfmt >/dev/null 2>&1 || true
fi
cargo --version; java -version 2>&1 | head -1; go version; python3 --version

step "client drivers (Java kafka-clients, librdkafka via confluent-kafka, franz-go)"
bash tests/clients/java/build.sh
bash tests/clients/python/build.sh
bash tests/clients/go/build.sh

step "Kafka Streams app, Kafka Connect and MirrorMaker 2 (tests/it/streams.rs, connect.rs, mirror_maker.rs)"
bash tests/clients/streams/build.sh
bash tests/clients/connect/build.sh

step "reference Apache Kafka from Maven Central (perf/compare.sh --smoke runs it: tests/it/perf_smoke.rs)"
bash perf/kafka/kafka.sh install

step "format and lints"
cargo fmt --all -- --check
cargo clippy --release --all-targets -- -D warnings

step "unit and integration tests"
cargo test --release

if [ "$FUZZ_SECONDS" -gt 0 ]; then
  step "fuzz the request decoder for ${FUZZ_SECONDS}s, then the SASL/SCRAM parsers for half that"
  bash tests/fuzz/run.sh "$FUZZ_SECONDS"
  FUZZ_TARGET=sasl bash tests/fuzz/run.sh $((FUZZ_SECONDS > 1 ? FUZZ_SECONDS / 2 : 1))
fi
step "all tests passed"

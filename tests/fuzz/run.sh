#!/usr/bin/env bash
# Fuzzes the broker's request decoding (tests/fuzz/fuzz_targets/request_decoder.rs) for SECONDS
# (default 30). Run from anywhere; needs nightly Rust (`rustup toolchain install nightly`).
# FUZZ_TARGET=record_set fuzzes the batch parser alone (see README.md). Further arguments go to libFuzzer, e.g. to keep going past known out-of-memory inputs:
#   tests/fuzz/run.sh 120 -fork=2 -ignore_ooms=1
# A crash leaves its input in tests/fuzz/artifacts/<target>/ and exits non-zero; replay it with
#   cargo +nightly fuzz run --fuzz-dir tests/fuzz <target> tests/fuzz/artifacts/<target>/<file>
set -euo pipefail

target="${FUZZ_TARGET:-request_decoder}"
seconds="${1:-30}"
shift || true
cd "$(dirname "$0")/../.."

if ! cargo fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked
fi

# New inputs go to corpus/ (ignored by git); seeds/ holds committed real request frames and a record
# set, good starting points for both targets; regressions/ replays every input that once failed.
corpus="tests/fuzz/corpus/$target"
seeds="tests/fuzz/seeds/$target"
[[ -d "$seeds" ]] || seeds=tests/fuzz/seeds/request_decoder
mkdir -p "$corpus"
exec cargo +nightly fuzz run --fuzz-dir tests/fuzz "$target" \
    "$corpus" "$seeds" "tests/fuzz/regressions/$target" \
    -- -max_total_time="$seconds" "$@"

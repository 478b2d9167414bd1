#!/usr/bin/env bash
# Creates .venv next to this script with the pinned confluent-kafka (librdkafka) client.
# Idempotent: does nothing when the venv already matches requirements.txt.
set -euo pipefail
cd "$(dirname "$0")"

PYTHON="${PYTHON:-python3}"
STAMP=.venv/.requirements.stamp

if [[ -x .venv/bin/python && -f "$STAMP" ]] && cmp -s requirements.txt "$STAMP" \
    && .venv/bin/python -c 'import confluent_kafka' 2>/dev/null; then
    echo "python client: .venv up to date ($(.venv/bin/python -c 'import confluent_kafka as c; print("confluent-kafka", c.__version__, "librdkafka", c.libversion()[0])'))"
    exit 0
fi

"$PYTHON" -m venv .venv
.venv/bin/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
cp requirements.txt "$STAMP"
echo "python client: installed ($(.venv/bin/python -c 'import confluent_kafka as c; print("confluent-kafka", c.__version__, "librdkafka", c.libversion()[0])'))"

#!/usr/bin/env bash
# Runs scripts/smtp-sink.py (a local SMTP sink for the tests) with aiosmtpd from PyPI,
# in a virtual environment of its own under target/tools: smtp-sink.sh PORT DIR [REFUSE_ONCE].
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

source scripts/venv-lib.sh
venv=target/tools/smtp-venv
tool_venv "$venv" aiosmtpd aiosmtpd==1.4.6
exec "$venv/bin/python" scripts/smtp-sink.py "$@"

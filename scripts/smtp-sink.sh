#!/usr/bin/env bash
# Runs scripts/smtp-sink.py (a local SMTP sink for the tests) with aiosmtpd from PyPI,
# in a virtual environment of its own under target/tools: smtp-sink.sh PORT DIR [REFUSE_ONCE].
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

venv=target/tools/smtp-venv
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import aiosmtpd' 2>/dev/null; then
  if ! python3 -m venv "$venv" 2>/dev/null; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
    python3 -m venv "$venv"
  fi
  "$venv/bin/pip" install -q aiosmtpd==1.4.6
fi
exec "$venv/bin/python" scripts/smtp-sink.py "$@"

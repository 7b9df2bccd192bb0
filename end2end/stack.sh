#!/usr/bin/env bash
# One isolated stack for the browser tests (Dapr processes + the debug server built by
# `scripts/build-site.sh`): stack.sh NAME SITE_PORT APPROVAL_TIMEOUT PORT_BASE.
# Playwright starts and stops it (SIGTERM stops everything).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
name=$1 port=$2 timeout=$3 base=$4

export DATA_DIR=$PWD/target/e2e/$name
rm -rf "$DATA_DIR"
mkdir -p "$DATA_DIR"
source scripts/stack-lib.sh
dapr_ports "$base"
export LEPTOS_SITE_ADDR=127.0.0.1:$port APPROVAL_TIMEOUT=$timeout APP_DEMO_USERS=1
export LEPTOS_ENV=DEV SERVER_BIN=${SERVER_BIN:-target/debug/server} RECONCILE_INTERVAL=5s
# The main stack runs an approval policy (a director above $10,000); the timeout stack
# keeps the seed's single level.
if [ "$name" = main ]; then
  export APPROVAL_POLICY=$PWD/end2end/approval-policy.toml
fi
exec scripts/run.sh

#!/usr/bin/env bash
# `make dev`: the Dapr processes, then `cargo leptos watch`, which rebuilds the server
# and the WASM on every change and restarts the server (debug build, live reload).
# Ctrl-C stops everything.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/stack-lib.sh

export DATA_DIR=${DATA_DIR:-$PWD/data}
mkdir -p "$DATA_DIR"
export DAPR_BIN_DIR=${DAPR_BIN_DIR:-$(dapr/build.sh)}
export DAPR_GRPC_PORT=${DAPR_GRPC_PORT:-50001}
export DATABASE_URL=${DATABASE_URL:-sqlite://$DATA_DIR/approvals.db}
export APPROVAL_TIMEOUT=${APPROVAL_TIMEOUT:-24h}

sidecar=
trap '[ -n "$sidecar" ] && kill -TERM "$sidecar" 2>/dev/null; wait' EXIT
rm -f "$DATA_DIR/sidecar.ready"
bash dapr/start-sidecar.sh &
sidecar=$!
wait_for_sidecar "$sidecar" "$DATA_DIR/logs"
cargo leptos watch

#!/usr/bin/env bash
# `make dev`: the Dapr processes, then `cargo leptos watch`, which rebuilds the server
# and the WASM on every change and restarts the server (debug build, live reload).
# Ctrl-C stops everything.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/stack-lib.sh

stack_defaults

sidecar=
trap '[ -n "$sidecar" ] && kill -TERM "$sidecar" 2>/dev/null; wait' EXIT
rm -f "$DATA_DIR/sidecar.ready"
bash dapr/start-sidecar.sh &
sidecar=$!
wait_for_sidecar "$sidecar" "$DATA_DIR/logs"
dapr_api_token
cargo leptos watch

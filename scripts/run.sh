#!/usr/bin/env bash
# Runs Approvals in the foreground: the Dapr processes (placement, scheduler, daprd)
# and the release server on http://${LEPTOS_SITE_ADDR:-127.0.0.1:3000}. Ctrl-C stops
# everything this script started; a process that crashes is started again. Expects
# `scripts/build-site.sh --release` to have run (`make run` does both).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/stack-lib.sh

stack_defaults
site_defaults
export LEPTOS_SITE_ADDR=${LEPTOS_SITE_ADDR:-127.0.0.1:3000}

server_bin=${SERVER_BIN:-target/release/server}
[ -x "$server_bin" ] || { echo "missing $server_bin: run 'make run' (it builds first)" >&2; exit 1; }

sidecar= server= postgres_pid=
stop() {
  trap - INT TERM EXIT
  [ -n "$server" ] && kill -TERM "$server" 2>/dev/null && wait "$server" 2>/dev/null
  [ -n "$sidecar" ] && kill -TERM "$sidecar" 2>/dev/null && wait "$sidecar" 2>/dev/null
  [ -n "$postgres_pid" ] && kill -TERM "$postgres_pid" 2>/dev/null && wait "$postgres_pid" 2>/dev/null
  return 0
}
trap 'stop; exit 0' INT TERM
trap stop EXIT

# DAPR_STATE=postgres: Dapr's workflow state in a PostgreSQL of our own (or the one
# DAPR_STATE_URL names).
own_postgres
rm -f "$DATA_DIR/sidecar.ready"
bash dapr/start-sidecar.sh &
sidecar=$!
wait_for_sidecar "$sidecar" "$DATA_DIR/logs"
dapr_api_token

start_server() {
  nice -n "$APP_NICE" "$server_bin" &
  server=$!
  server_started=$SECONDS
  echo "$server" >"$DATA_DIR/pids/server"
}
start_server
echo "Approvals: http://$LEPTOS_SITE_ADDR  (API docs: http://$LEPTOS_SITE_ADDR/docs; Ctrl-C stops)" >&2

# A server that exits on its own is started again, after a pause that doubles with each
# quick failure (1 s … 30 s), as Kubernetes would; the sidecar script does the same for
# the Dapr processes. Only the sidecar script itself stopping ends the run.
pause=1
while true; do
  wait -n "$server" "$sidecar" || true
  if ! kill -0 "$sidecar" 2>/dev/null; then
    echo "run.sh: the Dapr sidecar script stopped; stopping the server" >&2
    exit 1
  fi
  if ! kill -0 "$server" 2>/dev/null; then
    rc=0
    wait "$server" 2>/dev/null || rc=$?
    if ((SECONDS - server_started >= 60)); then pause=1; fi
    echo "run.sh: the server exited (status $rc); restarting it in $pause s" >&2
    sleep "$pause" &
    wait $! || true
    pause=$((pause * 2 > 30 ? 30 : pause * 2))
    start_server
  fi
done

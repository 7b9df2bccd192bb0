#!/usr/bin/env bash
# Starts a local Dapr sidecar for the Approvals app: placement, scheduler and
# daprd, all listening on 127.0.0.1 only, with SQLite (or PostgreSQL) state (the
# actor / workflow state store) and SQLite name resolution under $DATA_DIR.
#
# Waits until all three are healthy, prints one "ready" line on stdout, then
# stays in the foreground. SIGINT/SIGTERM stops all three (daprd first). One that
# exits on its own is started again, with a growing pause between quick failures.
#
# Environment (defaults in brackets):
#   APP_ID [approvals]            daprd --app-id
#   DATA_DIR [./data]             state DBs, scheduler etcd, generated
#                                 resources/config, logs/{placement,scheduler,daprd}.log,
#                                 pids/{placement,scheduler,daprd} (current pids)
#   DAPR_HTTP_PORT [3500]         daprd HTTP API (also its health endpoints)
#   DAPR_GRPC_PORT [50001]        daprd gRPC API (SDKs, workflow worker)
#   DAPR_INTERNAL_GRPC_PORT [50002]
#   PLACEMENT_PORT [50005]        SCHEDULER_PORT [50006]
#   PLACEMENT_HEALTHZ_PORT [58080] SCHEDULER_HEALTHZ_PORT [58081]
#   PLACEMENT_RAFT_PORT [58201]   (placement's single-node raft, in memory)
#   SCHEDULER_ETCD_CLIENT_PORT [52379] SCHEDULER_ETCD_PEER_PORT [52380]
#   APP_PORT []                   the app's port, if daprd should call the app
#   APP_PROTOCOL [http]
#   ENABLE_METRICS [false]        true: Prometheus endpoints on 127.0.0.1 at
#     DAPRD_METRICS_PORT [59090] PLACEMENT_METRICS_PORT [59091] SCHEDULER_METRICS_PORT [59092]
#   DAPR_LOG_LEVEL [info]
#   OTEL_EXPORTER_OTLP_ENDPOINT [] an OTLP/gRPC collector (http://host:4317): daprd sends
#                                 its spans there too (every request sampled)
#   DAPR_STATE [sqlite]           the actor/workflow state store: sqlite ($DATA_DIR/
#                                 dapr-state.db) or postgres (state.postgresql v2)
#   DAPR_STATE_URL []             with DAPR_STATE=postgres: its connection string
#                                 (postgres://user:password@host:port/database)
#   WORKFLOW_RETENTION [168h]     how long daprd keeps a completed workflow's state
#                                 before purging it (failed/terminated: 720h); the
#                                 app answers /status of a purged order from its
#                                 read model
#   DAPR_API_TOKEN []             the token daprd demands on its API; when unset, one
#                                 is made once per data directory and kept in
#                                 $DATA_DIR/dapr-api-token (mode 0600)
#   DAPR_PROCESSES [all]          all: placement, scheduler and daprd; control: only
#                                 placement and scheduler (a cluster's control plane);
#                                 daprd: only daprd, joining the control plane already
#                                 listening on PLACEMENT_PORT and SCHEDULER_PORT
#                                 (scripts/cluster.sh)
#   SMTP_HOST []                  an SMTP server: daprd gets the `notify-email`
#     SMTP_PORT [25] SMTP_FROM [approvals@localhost] SMTP_USER [] SMTP_PASSWORD []
#     SMTP_SKIP_TLS_VERIFY [false]  output binding (bindings.smtp) the app's e-mails go
#                                 through (the server's NOTIFY_EMAIL_BINDING)
#   WEBHOOK_URL []                where outcome events are posted: daprd gets the
#                                 `notify-webhook` output binding (bindings.http; the
#                                 server's NOTIFY_WEBHOOK_BINDING)
#   ATTACHMENTS_DIR [$DATA_DIR/attachments]
#                                 where orders' attached files are kept: daprd gets the
#                                 `attachments` output binding (bindings.localstorage;
#                                 the server's ATTACHMENTS_BINDING); "off": none
#   MAX_BODY_SIZE [16Mi]          daprd --max-body-size: a 10 MB file travels base64
#                                 (13.4 MB) to the binding
#   WATCH_PARENT [0]              1: stop when the parent process is gone
#   STARTUP_TIMEOUT [90]          seconds to wait for each process to be healthy
#   DAPR_BIN_DIR []               see dapr/build.sh (which this script calls)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

APP_ID=${APP_ID:-approvals}
DATA_DIR=${DATA_DIR:-./data}
DAPR_HTTP_PORT=${DAPR_HTTP_PORT:-3500}
DAPR_GRPC_PORT=${DAPR_GRPC_PORT:-50001}
DAPR_INTERNAL_GRPC_PORT=${DAPR_INTERNAL_GRPC_PORT:-50002}
PLACEMENT_PORT=${PLACEMENT_PORT:-50005}
SCHEDULER_PORT=${SCHEDULER_PORT:-50006}
PLACEMENT_HEALTHZ_PORT=${PLACEMENT_HEALTHZ_PORT:-58080}
SCHEDULER_HEALTHZ_PORT=${SCHEDULER_HEALTHZ_PORT:-58081}
PLACEMENT_RAFT_PORT=${PLACEMENT_RAFT_PORT:-58201}
SCHEDULER_ETCD_CLIENT_PORT=${SCHEDULER_ETCD_CLIENT_PORT:-52379}
SCHEDULER_ETCD_PEER_PORT=${SCHEDULER_ETCD_PEER_PORT:-52380}
APP_PORT=${APP_PORT:-}
APP_PROTOCOL=${APP_PROTOCOL:-http}
ENABLE_METRICS=${ENABLE_METRICS:-false}
DAPRD_METRICS_PORT=${DAPRD_METRICS_PORT:-59090}
PLACEMENT_METRICS_PORT=${PLACEMENT_METRICS_PORT:-59091}
SCHEDULER_METRICS_PORT=${SCHEDULER_METRICS_PORT:-59092}
DAPR_LOG_LEVEL=${DAPR_LOG_LEVEL:-info}
STARTUP_TIMEOUT=${STARTUP_TIMEOUT:-90}
WORKFLOW_RETENTION=${WORKFLOW_RETENTION:-168h}
DAPR_PROCESSES=${DAPR_PROCESSES:-all}

log() { printf '[dapr/start-sidecar.sh] %s\n' "$*" >&2; }

case "$DAPR_PROCESSES" in
  all | control | daprd) ;;
  *)
    log "DAPR_PROCESSES must be all, control or daprd, not '$DAPR_PROCESSES'"
    exit 2
    ;;
esac

BIN=$("$here/build.sh")

mkdir -p "$DATA_DIR"
DATA_DIR=$(cd "$DATA_DIR" && pwd)
logs="$DATA_DIR/logs"
resources="$DATA_DIR/dapr-resources"
config="$DATA_DIR/dapr-config.yaml"
mkdir -p "$logs" "$resources" "$DATA_DIR/scheduler" "$DATA_DIR/pids"

# --- generated resources (absolute SQLite paths under $DATA_DIR) ----------
DAPR_STATE=${DAPR_STATE:-sqlite}
case "$DAPR_STATE" in
  sqlite)
    cat >"$resources/statestore.yaml" <<EOF
# Generated by dapr/start-sidecar.sh; edits are overwritten.
apiVersion: dapr.io/v1alpha1
kind: Component
metadata:
  name: statestore
spec:
  type: state.sqlite
  version: v1
  metadata:
    - name: connectionString
      value: "$DATA_DIR/dapr-state.db"
    - name: actorStateStore
      value: "true"
    # Under bursts of workflow starts SQLite's 2 s default let writes fail with
    # "database is locked"; waiting longer is better than failing.
    - name: busyTimeout
      value: "10s"
EOF
    ;;
  postgres)
    [ -n "${DAPR_STATE_URL:-}" ] || { log "DAPR_STATE=postgres needs DAPR_STATE_URL"; exit 2; }
    # The connection string holds a password: the file is for daprd's eyes only.
    rm -f "$resources/statestore.yaml"
    (umask 077 && cat >"$resources/statestore.yaml" <<EOF
# Generated by dapr/start-sidecar.sh; edits are overwritten.
apiVersion: dapr.io/v1alpha1
kind: Component
metadata:
  name: statestore
spec:
  type: state.postgresql
  version: v2
  metadata:
    - name: connectionString
      value: "$DAPR_STATE_URL"
    - name: actorStateStore
      value: "true"
    - name: timeout
      value: "20s"
EOF
    )
    ;;
  *)
    log "DAPR_STATE must be sqlite or postgres, not '$DAPR_STATE'"
    exit 2
    ;;
esac
# Dapr's own spans go where ours do, when a collector is named.
tracing="samplingRate: \"0\""
if [ -n "${OTEL_EXPORTER_OTLP_ENDPOINT:-}" ]; then
  otel=${OTEL_EXPORTER_OTLP_ENDPOINT#*://}
  secure=false
  [[ "$OTEL_EXPORTER_OTLP_ENDPOINT" == https://* ]] && secure=true
  tracing="samplingRate: \"1\"
    otel:
      endpointAddress: \"${otel%/}\"
      isSecure: $secure
      protocol: grpc"
fi
# Notifications: output bindings only when configured; none otherwise.
rm -f "$resources/notify-email.yaml" "$resources/notify-webhook.yaml"
if [ -n "${SMTP_HOST:-}" ]; then
  (umask 077 && cat >"$resources/notify-email.yaml" <<EOF
apiVersion: dapr.io/v1alpha1
kind: Component
metadata:
  name: notify-email
spec:
  type: bindings.smtp
  version: v1
  metadata:
  - name: host
    value: "${SMTP_HOST}"
  - name: port
    value: "${SMTP_PORT:-25}"
  - name: emailFrom
    value: "${SMTP_FROM:-approvals@localhost}"
  - name: user
    value: "${SMTP_USER:-}"
  - name: password
    value: "${SMTP_PASSWORD:-}"
  - name: skipTLSVerify
    value: "${SMTP_SKIP_TLS_VERIFY:-false}"
EOF
  )
fi
# Attached files: a directory of their own under the data directory, unless turned off.
ATTACHMENTS_DIR=${ATTACHMENTS_DIR:-$DATA_DIR/attachments}
rm -f "$resources/attachments.yaml"
if [ "$ATTACHMENTS_DIR" != off ]; then
  mkdir -p "$ATTACHMENTS_DIR"
  chmod 700 "$ATTACHMENTS_DIR"
  cat >"$resources/attachments.yaml" <<EOF
apiVersion: dapr.io/v1alpha1
kind: Component
metadata:
  name: attachments
spec:
  type: bindings.localstorage
  version: v1
  metadata:
  - name: rootPath
    value: "$(cd "$ATTACHMENTS_DIR" && pwd -P)"
EOF
fi
if [ -n "${WEBHOOK_URL:-}" ]; then
  cat >"$resources/notify-webhook.yaml" <<EOF
apiVersion: dapr.io/v1alpha1
kind: Component
metadata:
  name: notify-webhook
spec:
  type: bindings.http
  version: v1
  metadata:
  - name: url
    value: "${WEBHOOK_URL}"
EOF
fi

cat >"$config" <<EOF
# Generated by dapr/start-sidecar.sh; edits are overwritten.
apiVersion: dapr.io/v1alpha1
kind: Configuration
metadata:
  name: approvals
spec:
  nameResolution:
    component: sqlite
    version: v1
    configuration:
      connectionString: "$DATA_DIR/dapr-nameresolution.db"
  tracing:
    $tracing
  metric:
    enabled: $ENABLE_METRICS
  # Finished workflows do not pile up in the state store forever. Failed and
  # terminated ones stay longer, for whoever looks into them.
  workflow:
    stateRetentionPolicy:
      completed: "$WORKFLOW_RETENTION"
      failed: "720h"
      terminated: "720h"
EOF

metrics_flags() { # $1 = port
  if [ "$ENABLE_METRICS" = true ]; then
    printf -- '--enable-metrics=true\n--metrics-port=%s\n' "$1"
  else
    printf -- '--enable-metrics=false\n'
  fi
}

# --- process management -----------------------------------------------------
declare -A pids=()
order=() # start order; stopped in reverse

stop_all() {
  local i name pid
  trap - INT TERM EXIT
  for ((i = ${#order[@]} - 1; i >= 0; i--)); do
    name=${order[i]}
    pid=${pids[$name]}
    if kill -0 "$pid" 2>/dev/null; then
      log "stopping $name (pid $pid)"
      kill -TERM "$pid" 2>/dev/null || true
      for _ in $(seq 1 100); do # up to 10 s
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
      done
      if kill -0 "$pid" 2>/dev/null; then
        log "$name did not stop in 10 s; killing it"
        kill -KILL "$pid" 2>/dev/null || true
      fi
      wait "$pid" 2>/dev/null || true
    fi
  done
}
on_signal() {
  log "signal received"
  stop_all
  exit 0
}
trap on_signal INT TERM
trap stop_all EXIT

start() { # name, then command line
  local name=$1
  shift
  printf '\n===== %s: %s\n' "$(date -Is)" "$*" >>"$logs/$name.log"
  "$@" >>"$logs/$name.log" 2>&1 &
  pids[$name]=$!
  # For whoever started this script and wants to signal exactly these processes (the
  # chaos suite): the current pid of each, replaced on every restart.
  echo "${pids[$name]}" >"$DATA_DIR/pids/$name"
  [[ " ${order[*]} " == *" $name "* ]] || order+=("$name")
  log "started $name (pid ${pids[$name]}), log: $logs/$name.log"
}

wait_healthy() { # name, url
  local name=$1 url=$2 deadline=$((SECONDS + STARTUP_TIMEOUT))
  while ! curl -fsS -o /dev/null --max-time 2 "$url" 2>/dev/null; do
    if ! kill -0 "${pids[$name]}" 2>/dev/null; then
      log "$name exited during start-up; last lines of $logs/$name.log:"
      tail -n 20 "$logs/$name.log" >&2
      exit 1
    fi
    if ((SECONDS >= deadline)); then
      log "$name not healthy at $url after ${STARTUP_TIMEOUT}s; last lines of $logs/$name.log:"
      tail -n 20 "$logs/$name.log" >&2
      exit 1
    fi
    sleep 0.3
  done
  log "$name is healthy ($url)"
}

if [ "$DAPR_PROCESSES" != daprd ]; then
# --- placement ------------------------------------------------------------
mapfile -t pm < <(metrics_flags "$PLACEMENT_METRICS_PORT")
start_placement() {
start placement "$BIN/placement" \
  --mode standalone \
  --id dapr-placement-0 \
  --initial-cluster "dapr-placement-0=127.0.0.1:$PLACEMENT_RAFT_PORT" \
  --inmem-store-enabled=true \
  --listen-address 127.0.0.1 \
  --port "$PLACEMENT_PORT" \
  --healthz-listen-address 127.0.0.1 \
  --healthz-port "$PLACEMENT_HEALTHZ_PORT" \
  "${pm[@]}" \
  --log-level "$DAPR_LOG_LEVEL"
}
start_placement

# --- scheduler ------------------------------------------------------------
mapfile -t sm < <(metrics_flags "$SCHEDULER_METRICS_PORT")
start_scheduler() {
start scheduler "$BIN/scheduler" \
  --mode standalone \
  --id dapr-scheduler-server-0 \
  --listen-address 127.0.0.1 \
  --port "$SCHEDULER_PORT" \
  --healthz-listen-address 127.0.0.1 \
  --healthz-port "$SCHEDULER_HEALTHZ_PORT" \
  --etcd-data-dir "$DATA_DIR/scheduler" \
  --etcd-client-listen-address 127.0.0.1 \
  --etcd-client-port "$SCHEDULER_ETCD_CLIENT_PORT" \
  --etcd-initial-cluster "dapr-scheduler-server-0=http://127.0.0.1:$SCHEDULER_ETCD_PEER_PORT" \
  --identity-directory-write "$DATA_DIR/scheduler/identity" \
  "${sm[@]}" \
  --log-level "$DAPR_LOG_LEVEL"
}
start_scheduler

wait_healthy placement "http://127.0.0.1:$PLACEMENT_HEALTHZ_PORT/healthz"
wait_healthy scheduler "http://127.0.0.1:$SCHEDULER_HEALTHZ_PORT/healthz"
fi

if [ "$DAPR_PROCESSES" != control ]; then

# --- daprd ------------------------------------------------------------------
# With a token daprd refuses every API call that lacks it (health checks aside), so no
# other local process can raise a decision or end a workflow. Exported only now: the
# start() log line must never show it.
if [ -z "${DAPR_API_TOKEN:-}" ]; then
  token_file="$DATA_DIR/dapr-api-token"
  if [ ! -s "$token_file" ]; then
    (umask 077 && od -An -tx1 -N32 /dev/urandom | tr -d ' \n' >"$token_file.new")
    mv "$token_file.new" "$token_file"
  fi
  chmod 600 "$token_file"
  DAPR_API_TOKEN=$(<"$token_file")
fi
export DAPR_API_TOKEN
app_flags=()
if [ -n "$APP_PORT" ]; then
  app_flags=(--app-port "$APP_PORT" --app-protocol "$APP_PROTOCOL" --app-channel-address 127.0.0.1)
fi
mapfile -t dm < <(metrics_flags "$DAPRD_METRICS_PORT")
start_daprd() {
start daprd "$BIN/daprd" \
  --mode standalone \
  --app-id "$APP_ID" \
  "${app_flags[@]}" \
  --dapr-listen-addresses 127.0.0.1 \
  --dapr-http-port "$DAPR_HTTP_PORT" \
  --dapr-grpc-port "$DAPR_GRPC_PORT" \
  --dapr-internal-grpc-listen-address 127.0.0.1 \
  --dapr-internal-grpc-port "$DAPR_INTERNAL_GRPC_PORT" \
  --placement-host-address "127.0.0.1:$PLACEMENT_PORT" \
  --scheduler-host-address "127.0.0.1:$SCHEDULER_PORT" \
  --resources-path "$resources" \
  --config "$config" \
  --max-body-size "${MAX_BODY_SIZE:-16Mi}" \
  --metrics-listen-address 127.0.0.1 \
  "${dm[@]}" \
  --log-level "$DAPR_LOG_LEVEL"
}
start_daprd

wait_healthy daprd "http://127.0.0.1:$DAPR_HTTP_PORT/v1.0/healthz/outbound"
fi

log "all healthy; Ctrl-C / SIGTERM stops them"
# Callers (scripts/run.sh, the integration tests) wait for this file.
touch "$DATA_DIR/sidecar.ready"
echo "dapr sidecar ready ($DAPR_PROCESSES): app-id=$APP_ID grpc=127.0.0.1:$DAPR_GRPC_PORT http=127.0.0.1:$DAPR_HTTP_PORT placement=127.0.0.1:$PLACEMENT_PORT data=$DATA_DIR"

# Foreground until a signal arrives. A process that exits is started again, after a
# pause that doubles with each quick failure (1 s … 30 s), as Kubernetes restarts a
# sidecar: the server reconnects by itself, and workflows, timers and decisions carry
# on from the state store. With WATCH_PARENT=1 (tests) the sidecar also goes away when
# whoever started it dies, so a killed test run never leaves Dapr processes behind.
# A pause that a signal cuts short (bash runs traps only between commands, and `wait`
# is one it interrupts).
nap() {
  sleep "$1" &
  wait $! 2>/dev/null || true
}
declare -A pause=() started_at=()
for name in "${order[@]}"; do
  pause[$name]=1
  started_at[$name]=$SECONDS
done
parent=$PPID
while true; do
  if [ "${WATCH_PARENT:-0}" = 1 ] && ! kill -0 "$parent" 2>/dev/null; then
    log "parent process gone; stopping"
    stop_all
    exit 1
  fi
  for name in "${order[@]}"; do
    kill -0 "${pids[$name]}" 2>/dev/null && continue
    set +e
    wait "${pids[$name]}" 2>/dev/null
    rc=$?
    set -e
    # A process that ran a minute or more failed afresh: start with a short pause.
    ((SECONDS - started_at[$name] >= 60)) && pause[$name]=1
    log "$name exited (status $rc); restarting it in ${pause[$name]} s; last lines of $logs/$name.log:"
    tail -n 5 "$logs/$name.log" >&2
    nap "${pause[$name]}"
    pause[$name]=$((pause[$name] * 2 > 30 ? 30 : pause[$name] * 2))
    "start_$name"
    started_at[$name]=$SECONDS
  done
  nap 1
done

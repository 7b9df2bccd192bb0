#!/usr/bin/env bash
# Several replicas of Approvals on this machine, the way Kubernetes runs them: one Dapr
# control plane (placement, scheduler) and REPLICAS pairs of daprd + server on one app
# id. They share one PostgreSQL (a throw-away cluster of our own under
# $DATA_DIR/postgres, unless DAPR_STATE_URL and DATABASE_URL name one): Dapr's workflow
# state in its `dapr` database, the read model in `approvals`. Placement spreads the
# workflows over the replicas; when one dies, its workflows go on on the others.
#
# Server i (1 … REPLICAS) listens on 127.0.0.1:$((CLUSTER_PORT + i - 1)); its daprd's
# ports start at CLUSTER_DAPR_BASE + 10 i. Ctrl-C stops everything; a process that dies
# is started again (the sidecar script restarts daprd, this one the server). For tests:
# the pids are in $DATA_DIR/replica-i/pids/{daprd,server}, and $DATA_DIR/cluster.ready
# appears once every replica answers. Expects `scripts/build-site.sh --release` to have
# run (`make cluster` does both).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/stack-lib.sh

REPLICAS=${REPLICAS:-2}
CLUSTER_PORT=${CLUSTER_PORT:-3000}
CLUSTER_DAPR_BASE=${CLUSTER_DAPR_BASE:-26000}
export DATA_DIR=${DATA_DIR:-$PWD/data/cluster}
stack_defaults
site_defaults
server_bin=${SERVER_BIN:-target/release/server}
[ -x "$server_bin" ] || { echo "missing $server_bin: run 'make cluster' (it builds first)" >&2; exit 1; }

log() { printf '[cluster] %s\n' "$*" >&2; }

# Every daprd must see every workflow's state. Two daprds on one SQLite state file do
# not: one answered "no such instance" for workflows the other hosted.
export DAPR_STATE=postgres

control= postgres_pid=
declare -A sidecars=() servers=() started=()
stop() {
  trap - INT TERM EXIT
  local pid
  for pid in "${servers[@]}" "${sidecars[@]}" $control $postgres_pid; do
    kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in "${servers[@]}" "${sidecars[@]}" $control $postgres_pid; do
    wait "$pid" 2>/dev/null || true
  done
}
trap 'stop; exit 0' INT TERM
trap stop EXIT
rm -f "$DATA_DIR/cluster.ready"

own_postgres
# The read model on PostgreSQL too: replicas on several machines share no file.
if [[ $DATABASE_URL != postgres://* && $DATABASE_URL != postgresql://* ]]; then
  if [ -z "$postgres_pid" ]; then
    log "with DAPR_STATE_URL given, DATABASE_URL must name the read model's PostgreSQL database"
    exit 1
  fi
  export DATABASE_URL=$postgres_url/approvals
fi

# One token for every daprd of the app id, kept like the single stack's.
token_file="$DATA_DIR/dapr-api-token"
if [ -z "${DAPR_API_TOKEN:-}" ]; then
  if [ ! -s "$token_file" ]; then
    (umask 077 && od -An -tx1 -N32 /dev/urandom | tr -d ' \n' >"$token_file")
  fi
  DAPR_API_TOKEN=$(<"$token_file")
fi
export DAPR_API_TOKEN

# The control plane, on the ports of the base itself.
dapr_ports "$CLUSTER_DAPR_BASE"
mkdir -p "$DATA_DIR/control"
rm -f "$DATA_DIR/control/sidecar.ready"
DATA_DIR=$DATA_DIR/control DAPR_PROCESSES=control bash dapr/start-sidecar.sh \
  >>"$DATA_DIR/control/sidecar.out" 2>&1 &
control=$!
DATA_DIR=$DATA_DIR/control wait_for_sidecar "$control" "$DATA_DIR/control/sidecar.out"

replica_dir() { echo "$DATA_DIR/replica-$1"; }

# Replica i's daprd: its own API ports, the shared placement, scheduler and state.
start_sidecar() {
  local i=$1 dir base
  dir=$(replica_dir "$i")
  base=$((CLUSTER_DAPR_BASE + 10 * i))
  mkdir -p "$dir/pids"
  rm -f "$dir/sidecar.ready"
  DATA_DIR=$dir DAPR_PROCESSES=daprd \
    DAPR_HTTP_PORT=$base DAPR_GRPC_PORT=$((base + 1)) DAPR_INTERNAL_GRPC_PORT=$((base + 2)) \
    DAPRD_METRICS_PORT=$((base + 3)) \
    bash dapr/start-sidecar.sh >>"$dir/sidecar.out" 2>&1 &
  sidecars[$i]=$!
  DATA_DIR=$dir wait_for_sidecar "${sidecars[$i]}" "$dir/sidecar.out"
}

start_server() {
  local i=$1 dir
  dir=$(replica_dir "$i")
  LEPTOS_SITE_ADDR=127.0.0.1:$((CLUSTER_PORT + i - 1)) \
    DAPR_GRPC_PORT=$((CLUSTER_DAPR_BASE + 10 * i + 1)) REPLICA_ID=replica-$i \
    nice -n "$APP_NICE" "$server_bin" >>"$dir/server.log" 2>&1 &
  servers[$i]=$!
  started[$i]=$SECONDS
  echo "${servers[$i]}" >"$dir/pids/server"
}

wait_for_server() {
  local i=$1 url="http://127.0.0.1:$((CLUSTER_PORT + i - 1))/healthz"
  for _ in $(seq 1 1200); do
    curl -fsS -o /dev/null --max-time 2 "$url" 2>/dev/null && return 0
    kill -0 "${servers[$i]}" 2>/dev/null || break
    sleep 0.1
  done
  log "server $i did not answer at $url; see $(replica_dir "$i")/server.log"
  tail -n 20 "$(replica_dir "$i")/server.log" >&2
  return 1
}

# One replica after the other: the first creates the read model's schema alone.
for i in $(seq 1 "$REPLICAS"); do
  start_sidecar "$i"
  start_server "$i"
  wait_for_server "$i"
  log "replica $i: http://127.0.0.1:$((CLUSTER_PORT + i - 1))  (logs in $(replica_dir "$i"))"
done
touch "$DATA_DIR/cluster.ready"
log "$REPLICAS replicas on app id approvals; Ctrl-C stops them"

# A server that exits is started again, after a pause that doubles with each quick
# failure (1 s … 30 s); a sidecar script that exits (it restarts its daprd itself) ends
# the cluster.
declare -A pause=()
while true; do
  sleep 1 &
  wait $! || true
  for i in $(seq 1 "$REPLICAS"); do
    if ! kill -0 "${sidecars[$i]}" 2>/dev/null; then
      log "the sidecar script of replica $i stopped; stopping the cluster"
      exit 1
    fi
    kill -0 "${servers[$i]}" 2>/dev/null && continue
    wait "${servers[$i]}" 2>/dev/null || true
    ((SECONDS - started[$i] >= 60)) && pause[$i]=1
    log "server $i exited; starting it again in ${pause[$i]:-1} s"
    sleep "${pause[$i]:-1}"
    pause[$i]=$((${pause[$i]:-1} * 2 > 30 ? 30 : ${pause[$i]:-1} * 2))
    start_server "$i"
  done
done

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
#
#   scripts/cluster.sh                   starts the cluster and stays in the foreground
#   scripts/cluster.sh rolling-restart   restarts the replicas of the cluster running in
#                                        the same DATA_DIR, one after the other, the way
#                                        a deploy replaces a Deployment's pods. Prints
#                                        the steps; fails if a replica did not come back.
#
# A rolling restart takes replica i (1 … REPLICAS) in turn: its server and daprd get
# SIGTERM together (a pod's containers do), and are waited for (SIGKILL after
# ROLLING_STOP_TIMEOUT, 30 s, in the cluster's environment); daprd starts again, then
# the server; and the next replica is touched only once replica i is ready:
#   ROLLING_READY=placement (the default): server i answers /healthz (the pods'
#     readiness probe) and placement has told its daprd of the workflow actors since
#     its server's worker connected ("Dissemination complete" in its log; up to 30 s,
#     then it goes on with a warning; needs DAPR_LOG_LEVEL info or debug).
#   ROLLING_READY=healthz: /healthz alone, as Kubernetes goes by the probe.
# Why wait for placement: a daprd that leaves while placement disseminates a table
# holds up every workflow on every replica until placement gives up on it (8 s in Dapr
# 1.18: "Dissemination timeout" in control/logs/placement.log), and /healthz answers
# before the table that adds a new replica has gone out: stopping the next replica at
# once held the workflows up for 8 s. (A replica's own stop can still do it: its
# server's worker leaves, placement sends out a table without it, and its daprd may
# exit before taking that table.)
# The running cluster does the restart itself (it owns the processes): this command
# leaves it a request in $DATA_DIR/rolling-restart.request and waits for its answer in
# rolling-restart.status; the steps go to rolling-restart.log; the cluster's own pid is
# in $DATA_DIR/cluster.pid.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/stack-lib.sh

REPLICAS=${REPLICAS:-2}
CLUSTER_PORT=${CLUSTER_PORT:-3000}
CLUSTER_DAPR_BASE=${CLUSTER_DAPR_BASE:-26000}
export DATA_DIR=${DATA_DIR:-$PWD/data/cluster}

log() { printf '[cluster] %s\n' "$*" >&2; }

# scripts/cluster.sh rolling-restart: asks the cluster in $DATA_DIR for a rolling
# restart, shows its steps as they happen, and waits for it to end.
request_rolling_restart() {
  local pid= id status tail_pid ready=${ROLLING_READY:-placement}
  if [[ $ready != @(placement|healthz) ]]; then
    log "ROLLING_READY must be placement or healthz, not '$ready'"
    return 2
  fi
  [ -s "$DATA_DIR/cluster.pid" ] && pid=$(<"$DATA_DIR/cluster.pid")
  if [ -z "$pid" ] || ! kill -0 "$pid" 2>/dev/null; then
    log "no cluster is running in $DATA_DIR (start one with scripts/cluster.sh)"
    return 1
  fi
  if [ ! -e "$DATA_DIR/cluster.ready" ]; then
    log "the cluster in $DATA_DIR is still starting; try again once it is ready"
    return 1
  fi
  status=$(cat "$DATA_DIR/rolling-restart.status" 2>/dev/null || true)
  if [ -e "$DATA_DIR/rolling-restart.request" ] || [[ $status == running* ]]; then
    log "a rolling restart of the cluster in $DATA_DIR is already under way"
    return 1
  fi
  id=$$-${EPOCHREALTIME//[.,]/}
  touch "$DATA_DIR/rolling-restart.log"
  tail -n 0 -F --pid=$$ "$DATA_DIR/rolling-restart.log" >&2 2>/dev/null &
  tail_pid=$!
  echo "$id $ready" >"$DATA_DIR/rolling-restart.request.new"
  mv "$DATA_DIR/rolling-restart.request.new" "$DATA_DIR/rolling-restart.request"
  local asked=$SECONDS
  while true; do
    status=$(cat "$DATA_DIR/rolling-restart.status" 2>/dev/null || true)
    case $status in
      "done $id") break ;;
      "failed $id"*) break ;;
    esac
    if ! kill -0 "$pid" 2>/dev/null; then
      status="failed $id: the cluster (pid $pid) stopped"
      break
    fi
    # The cluster looks for a request every second, between its other chores.
    if [ -e "$DATA_DIR/rolling-restart.request" ] && ((SECONDS - asked > 15)); then
      rm -f "$DATA_DIR/rolling-restart.request"
      status="failed $id: the cluster (pid $pid) did not take the request in 15 s"
      break
    fi
    sleep 0.2
  done
  sleep 0.3 # the last lines of the log
  kill "$tail_pid" 2>/dev/null || true
  wait "$tail_pid" 2>/dev/null || true
  if [ "$status" = "done $id" ]; then
    log "rolling restart done"
    return 0
  fi
  log "rolling restart failed${status#"failed $id"}"
  return 1
}

case ${1:-} in
  "") ;;
  rolling-restart)
    request_rolling_restart
    exit
    ;;
  *)
    echo "usage: scripts/cluster.sh [rolling-restart]" >&2
    exit 2
    ;;
esac

stack_defaults
site_defaults
server_bin=${SERVER_BIN:-target/release/server}
[ -x "$server_bin" ] || { echo "missing $server_bin: run 'make cluster' (it builds first)" >&2; exit 1; }

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
  rm -f "$DATA_DIR/cluster.pid"
}
trap 'stop; exit 0' INT TERM
trap stop EXIT
rm -f "$DATA_DIR/cluster.ready" "$DATA_DIR/rolling-restart.request" \
  "$DATA_DIR/rolling-restart.status"
echo $$ >"$DATA_DIR/cluster.pid"

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
  # One directory of attached files for every replica, as one bucket in a deployment.
  DATA_DIR=$dir DAPR_PROCESSES=daprd ATTACHMENTS_DIR=${ATTACHMENTS_DIR:-$DATA_DIR/attachments} \
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

# stop_pod SENT PID NAME [PID NAME …]: waits until ROLLING_STOP_TIMEOUT (30) seconds
# after SENT (an EPOCHREALTIME) for each PID, a child sent SIGTERM then, to exit, and
# SIGKILLs those still there. Says how each ended, and when.
stop_pod() {
  local sent=$1 limit=${ROLLING_STOP_TIMEOUT:-30} pid rc
  shift
  local -A name=() took=()
  while (($#)); do
    name[$1]=$2
    shift 2
  done
  while true; do
    for pid in "${!name[@]}"; do
      if [ -z "${took[$pid]:-}" ] && ! kill -0 "$pid" 2>/dev/null; then
        took[$pid]=$(since "$sent")
      fi
    done
    if ((${#took[@]} == ${#name[@]})); then break; fi
    if (((${EPOCHREALTIME//[.,]/} - ${sent//[.,]/}) >= limit * 1000000)); then
      for pid in "${!name[@]}"; do
        [ -n "${took[$pid]:-}" ] && continue
        kill -KILL "$pid" 2>/dev/null || true
        took[$pid]="$limit: did not stop, KILLED"
      done
      break
    fi
    sleep 0.05
  done
  for pid in "${!name[@]}"; do
    rc=0
    wait "$pid" 2>/dev/null || rc=$?
    restart_log "  ${name[$pid]} (pid $pid) ended ${took[$pid]} s after SIGTERM, exit status $rc"
  done
}

# since EPOCHREALTIME: the seconds from then to now, to a tenth.
since() {
  local tenths=$(((${EPOCHREALTIME//[.,]/} - ${1//[.,]/}) / 100000))
  printf '%d.%d' $((tenths / 10)) $((tenths % 10))
}

restart_log() {
  local line
  line="$(date +%T.%3N) $*"
  printf '%s\n' "$line" >>"$DATA_DIR/rolling-restart.log"
  log "rolling restart: $*"
}

# restart_replica I: replica I's server and daprd, as one pod that is replaced: both
# get SIGTERM, are waited for, start again (daprd first, as at start-up), and the
# server answers /healthz. Fails, with the reason in restart_failure, if it does not
# come back. (Not in a subshell: it replaces this shell's children.)
restart_replica() {
  local i=$1 ready=$2 dir began=$EPOCHREALTIME
  dir=$(replica_dir "$i")
  restart_log "replica $i: SIGTERM to its server (pid ${servers[$i]}) and daprd (its script, pid ${sidecars[$i]})"
  kill -TERM "${servers[$i]}" "${sidecars[$i]}" 2>/dev/null || true
  stop_pod "$began" "${servers[$i]}" "server $i" "${sidecars[$i]}" "daprd $i (and its script)"
  restart_log "replica $i: down; starting daprd"
  printf '\n===== %s: rolling restart\n' "$(date -Is)" >>"$dir/server.log"
  if ! start_sidecar "$i"; then
    restart_failure="replica $i: its daprd did not start again (see $dir/sidecar.out)"
    return 1
  fi
  restart_log "replica $i: daprd ready (pid $(<"$dir/pids/daprd")); starting the server"
  start_server "$i"
  pause[$i]=1
  if ! wait_for_server "$i"; then
    restart_failure="replica $i: its server did not answer again (see $dir/server.log)"
    return 1
  fi
  if [ "$ready" = placement ] && [[ ${DAPR_LOG_LEVEL:-info} != @(info|debug) ]]; then
    restart_log "replica $i: WARNING: with DAPR_LOG_LEVEL=$DAPR_LOG_LEVEL daprd does not log placement's tables; /healthz only"
  elif [ "$ready" = placement ]; then
    restart_log "replica $i: server answers /healthz; waiting for placement"
    if ! wait_for_placement "$i"; then
      restart_log "replica $i: WARNING: placement did not tell its daprd of the workflow actors in 30 s; going on"
    fi
  fi
  restart_log "replica $i: ready again (server pid ${servers[$i]}), $(since "$began") s after SIGTERM"
}

# wait_for_placement I: waits up to 30 s until replica I's daprd, in its latest run,
# logged a completed placement dissemination after its server's worker connected.
wait_for_placement() {
  local log
  log="$(replica_dir "$1")/logs/daprd.log"
  for _ in $(seq 1 300); do
    awk '/^===== /{worker=0; done=0}
      /work item stream established/{worker=1}
      worker && /Dissemination complete/{done=1}
      END{exit !done}' "$log" && return 0
    sleep 0.1
  done
  return 1
}

# rolling_restart ID READY: every replica in turn, the next only once the one before
# is ready again (READY: placement or healthz); the outcome goes to
# $DATA_DIR/rolling-restart.status for ID.
rolling_restart() {
  local id=$1 ready=$2 i began=$EPOCHREALTIME
  echo "running $id" >"$DATA_DIR/rolling-restart.status"
  restart_log "begins: $REPLICAS replicas, one at a time (ready: $ready)"
  for i in $(seq 1 "$REPLICAS"); do
    restart_failure=
    if ! restart_replica "$i" "$ready"; then
      restart_log "FAILED: $restart_failure"
      echo "failed $id: $restart_failure" >"$DATA_DIR/rolling-restart.status"
      return 0
    fi
  done
  restart_log "done: $REPLICAS replicas restarted in $(since "$began") s"
  echo "done $id" >"$DATA_DIR/rolling-restart.status"
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
  if [ -e "$DATA_DIR/rolling-restart.request" ]; then
    read -r request ready <"$DATA_DIR/rolling-restart.request" || true
    rm -f "$DATA_DIR/rolling-restart.request"
    rolling_restart "$request" "${ready:-placement}"
  fi
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

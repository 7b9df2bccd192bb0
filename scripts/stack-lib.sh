# Shared by the scripts that start a stack (run.sh, bench.sh, end2end/stack.sh); source it.

# The CPU priority the server runs at beside its sidecar (a nice value; 0 turns it
# off). On a machine they share, daprd is what limits throughput: a server that does
# not preempt it does its own work in larger batches and waits less for daprd's
# answers (BENCHMARKS.md, section 6). Where the two have CPUs of their own (a
# Kubernetes pod's containers) there is nothing to share, and nothing to set.
export APP_NICE=${APP_NICE:-10}

# Every Dapr port from one base, so several stacks can run side by side:
# dapr_ports BASE uses BASE … BASE+9.
dapr_ports() {
  local base=$1
  export DAPR_HTTP_PORT=$base DAPR_GRPC_PORT=$((base + 1)) DAPR_INTERNAL_GRPC_PORT=$((base + 2))
  export PLACEMENT_PORT=$((base + 3)) SCHEDULER_PORT=$((base + 4))
  export PLACEMENT_HEALTHZ_PORT=$((base + 5)) SCHEDULER_HEALTHZ_PORT=$((base + 6))
  export PLACEMENT_RAFT_PORT=$((base + 7))
  export SCHEDULER_ETCD_CLIENT_PORT=$((base + 8)) SCHEDULER_ETCD_PEER_PORT=$((base + 9))
}

# wait_for_sidecar PID LOG: waits (up to 120 s) for dapr/start-sidecar.sh, running as
# PID, to touch $DATA_DIR/sidecar.ready. Fails if it dies first or never gets there,
# showing LOG when that is a file and naming it otherwise.
wait_for_sidecar() {
  local pid=$1 log=$2
  for _ in $(seq 1 1200); do
    [ -e "$DATA_DIR/sidecar.ready" ] && return 0
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    echo "the Dapr sidecar was not ready in 120 s; see $log" >&2
  else
    echo "the Dapr sidecar failed; see $log" >&2
  fi
  if [ -f "$log" ]; then cat "$log" >&2; fi
  return 1
}

# dapr_api_token: exports DAPR_API_TOKEN for our server: the one given, or the one
# dapr/start-sidecar.sh made for this data directory (call it once the sidecar is ready).
dapr_api_token() {
  if [ -z "${DAPR_API_TOKEN:-}" ]; then
    DAPR_API_TOKEN=$(<"$DATA_DIR/dapr-api-token")
  fi
  export DAPR_API_TOKEN
}

# stack_defaults: what a local stack runs with unless the caller says otherwise (the
# data directory, the Dapr binaries, the sidecar's gRPC port, the read model, the
# approval timeout).
stack_defaults() {
  export DATA_DIR=${DATA_DIR:-$PWD/data}
  mkdir -p "$DATA_DIR"
  export DAPR_BIN_DIR=${DAPR_BIN_DIR:-$(dapr/build.sh)}
  export DAPR_GRPC_PORT=${DAPR_GRPC_PORT:-50001}
  export DATABASE_URL=${DATABASE_URL:-sqlite://$DATA_DIR/approvals.db}
  export APPROVAL_TIMEOUT=${APPROVAL_TIMEOUT:-24h}
  # Notifications: the bindings dapr/start-sidecar.sh makes for SMTP_HOST and
  # WEBHOOK_URL, named for the server.
  if [ -n "${SMTP_HOST:-}" ]; then export NOTIFY_EMAIL_BINDING=notify-email; fi
  if [ -n "${WEBHOOK_URL:-}" ]; then export NOTIFY_WEBHOOK_BINDING=notify-webhook; fi
}

# site_defaults: where the release server finds the site (scripts/build-site.sh's
# layout) unless the caller says otherwise.
site_defaults() {
  export LEPTOS_OUTPUT_NAME=approvals
  export LEPTOS_SITE_ROOT=${LEPTOS_SITE_ROOT:-target/site}
  export LEPTOS_SITE_PKG_DIR=pkg
  export LEPTOS_ENV=${LEPTOS_ENV:-PROD}
}

# start_cluster: starts scripts/cluster.sh (with the caller's environment: DATA_DIR,
# REPLICAS, ports) in the background, its output in $DATA_DIR/cluster.out, sets
# cluster_pid, and waits up to 180 s for every replica to answer. Fails, showing that
# output, when the cluster dies or is not ready by then.
start_cluster() {
  rm -f "$DATA_DIR/cluster.ready"
  scripts/cluster.sh >"$DATA_DIR/cluster.out" 2>&1 &
  cluster_pid=$!
  for _ in $(seq 1 1800); do
    [ -e "$DATA_DIR/cluster.ready" ] && return 0
    kill -0 "$cluster_pid" 2>/dev/null || break
    sleep 0.1
  done
  echo "the cluster did not start; its output:" >&2
  cat "$DATA_DIR/cluster.out" >&2
  return 1
}

# start_postgres DIR: starts scripts/postgres.sh DIR in the background (stopping when
# this shell dies), waits for it, and sets postgres_pid and postgres_url (no database
# name). The caller stops it with TERM.
start_postgres() {
  local dir=$1
  rm -f "$dir/url"
  WATCH_PARENT=1 scripts/postgres.sh "$dir" >&2 &
  postgres_pid=$!
  # Up to 5 minutes: the first run may install Debian's postgresql.
  for _ in $(seq 1 3000); do
    [ -s "$dir/url" ] && break
    kill -0 "$postgres_pid" 2>/dev/null || break
    sleep 0.1
  done
  if [ ! -s "$dir/url" ]; then
    echo "PostgreSQL did not start; see $dir/postgres.log" >&2
    return 1
  fi
  postgres_url=$(<"$dir/url")
}

# own_postgres: with DAPR_STATE=postgres and no DAPR_STATE_URL given, starts a
# throw-away PostgreSQL of our own under $DATA_DIR/postgres and points daprd at its
# `dapr` database. Sets postgres_pid (empty when none was started).
own_postgres() {
  postgres_pid=
  if [ "${DAPR_STATE:-sqlite}" != postgres ] || [ -n "${DAPR_STATE_URL:-}" ]; then
    return 0
  fi
  start_postgres "$DATA_DIR/postgres"
  export DAPR_STATE_URL=$postgres_url/dapr
}

#!/usr/bin/env bash
# `make bench`: a release build, a fresh stack on its own ports (real placement,
# scheduler, daprd), the load generator in bench/, and BENCHMARKS.md.
#   BENCH_SCALE   multiplies every N (default 1)
#   BENCH_PROFILE release (default) or debug (the smoke run in `make test`)
#   BENCH_REPORT  where the report goes (default BENCHMARKS.md)
#   BENCH_DECISION_ROUNDS  rounds of section 9 (default 3)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export PATH="$HOME/.cargo/bin:$PWD/node_modules/.bin:$PATH"

profile=${BENCH_PROFILE:-release}
export BENCH_SCALE=${BENCH_SCALE:-1}
export BENCH_OUT=$PWD/target/bench
export BENCH_REPORT=${BENCH_REPORT:-$PWD/BENCHMARKS.md}
if [ "$profile" = release ]; then
  scripts/build-site.sh --release
  cargo build --release -p bench
else
  cargo build -p bench
fi
server_bin=$PWD/target/$profile/server
bench_bin=$PWD/target/$profile/bench

export DATA_DIR=$BENCH_OUT/data
rm -rf "$DATA_DIR"
mkdir -p "$DATA_DIR"
source scripts/stack-lib.sh
dapr_ports 24300
export DAPR_LOG_LEVEL=warn
export DATABASE_URL=sqlite://$DATA_DIR/approvals.db
export LEPTOS_SITE_ADDR=127.0.0.1:3200 LEPTOS_OUTPUT_NAME=approvals LEPTOS_SITE_ROOT=target/site
export LEPTOS_SITE_PKG_DIR=pkg LEPTOS_ENV=PROD APP_DEMO_USERS=1 APPROVAL_TIMEOUT=24h
export RUST_LOG=warn
# Every answer says where its time went (Server-Timing), for section 7's breakdown.
export APP_SERVER_TIMING=1
# What the report says each side ran at (stack-lib.sh).
export BENCH_APP_NICE=$APP_NICE

sidecar= server= cluster_pid=
cleanup() {
  [ -n "$server" ] && kill -TERM "$server" 2>/dev/null && wait "$server" 2>/dev/null
  [ -n "$sidecar" ] && kill -TERM "$sidecar" 2>/dev/null && wait "$sidecar" 2>/dev/null
  [ -n "$cluster_pid" ] && kill -TERM "$cluster_pid" 2>/dev/null && wait "$cluster_pid" 2>/dev/null
  return 0
}
trap cleanup EXIT

bash dapr/start-sidecar.sh >/dev/null 2>"$BENCH_OUT/sidecar.log" &
sidecar=$!
wait_for_sidecar "$sidecar" "$BENCH_OUT/sidecar.log"
dapr_api_token
start_server() {
  nice -n "$APP_NICE" "$server_bin" >>"$BENCH_OUT/server.log" 2>&1 &
  server=$!
  for _ in $(seq 1 600); do
    curl -fsS -o /dev/null "http://$LEPTOS_SITE_ADDR/healthz" 2>/dev/null && return 0
    kill -0 "$server" 2>/dev/null || { cat "$BENCH_OUT/server.log" >&2; exit 1; }
    sleep 0.1
  done
  echo "bench: the server did not answer /healthz within 60 s" >&2
  exit 1
}
stop_server() {
  kill -TERM "$server" && wait "$server" 2>/dev/null || true
  server=
}
: >"$BENCH_OUT/server.log"
rm -f "$BENCH_OUT/paired.json" "$BENCH_OUT/replicas.json"
start_server
export SERVER_PID=$server
export DAPRD_PID=$(pgrep -f "daprd .*--dapr-grpc-port $DAPR_GRPC_PORT" | head -n1)
export BENCH_BASE_URL=http://$LEPTOS_SITE_ADDR
export BENCH_DATABASE_URL=$DATABASE_URL
export BENCH_ALICE_TOKEN=$("$server_bin" token create --user alice 2>/dev/null | tail -n1)
export BENCH_BOB_TOKEN=$("$server_bin" token create --user bob 2>/dev/null | tail -n1)

# Scenario 6 alternates with our own rate so both see the same machine and daprd. The
# workflow alone needs the sidecar to itself: our server's worker would share the work.
# It runs first, on an empty stack: each round restarts our server, whose start-up
# reconciler pass compares every unfinished order with Dapr, and after scenarios 1-3
# (thousands of orders waiting) that pass would compete with the round it precedes.
for round in 1 2 3 4 5; do
  echo "bench: scenario 6, round $round: ours, then the workflow alone" >&2
  "$bench_bin" auto
  stop_server
  # The bare run's process hosts the worker our server would: the same priority.
  DAPR_GRPC_ENDPOINT=http://127.0.0.1:$DAPR_GRPC_PORT nice -n "$APP_NICE" "$bench_bin" bare
  start_server
done
export SERVER_PID=$server

# Section 9: the decision path, ours and the workflow alone, alternating as above, at
# each concurrency in turn, three rounds (BENCH_DECISION_ROUNDS).
rm -f "$BENCH_OUT/decisions.json"
for round in $(seq 1 "${BENCH_DECISION_ROUNDS:-3}"); do
  for concurrency in 1 16 64; do
    echo "bench: section 9, round $round, concurrency $concurrency: ours, then the workflow alone" >&2
    "$bench_bin" decide "$concurrency"
    stop_server
    DAPR_GRPC_ENDPOINT=http://127.0.0.1:$DAPR_GRPC_PORT nice -n "$APP_NICE" "$bench_bin" bare-decide "$concurrency"
    start_server
  done
done
export SERVER_PID=$server

# Section 8's first row: its load on this single-node stack, before scenarios 1-4 leave
# thousands of orders waiting in it.
echo "bench: section 8, the single node (SQLite)" >&2
BENCH_BASE_URLS=$BENCH_BASE_URL BENCH_REPLICAS_KEY=sqlite "$bench_bin" replicas

echo "bench: scenarios 1-4 against $BENCH_BASE_URL (scale $BENCH_SCALE)" >&2
"$bench_bin" api
cleanup
sidecar= server=

# Section 8: the same load on a cluster of one replica, then of two (scripts/cluster.sh,
# on ports of its own, with a PostgreSQL of its own for the read model and Dapr's state).
for replicas in 1 2; do
  echo "bench: section 8, a cluster of $replicas" >&2
  dir=$BENCH_OUT/cluster-$replicas
  rm -rf "$dir"
  mkdir -p "$dir"
  urls=$(for i in $(seq 0 $((replicas - 1))); do printf 'http://127.0.0.1:%d,' $((3400 + i)); done)
  DATA_DIR=$dir DATABASE_URL= REPLICAS=$replicas \
    CLUSTER_PORT=3400 CLUSTER_DAPR_BASE=28000 SERVER_BIN=$server_bin start_cluster
  cluster_db=$(<"$dir/postgres/url")/approvals
  token() { DATABASE_URL=$cluster_db "$server_bin" token create --user "$1" 2>/dev/null | tail -n1; }
  BENCH_BASE_URL=http://127.0.0.1:3400 BENCH_BASE_URLS=$urls BENCH_DATABASE_URL=$cluster_db \
    BENCH_ALICE_TOKEN=$(token alice) BENCH_BOB_TOKEN=$(token bob) "$bench_bin" replicas
  kill -TERM "$cluster_pid" && wait "$cluster_pid" 2>/dev/null || true
  cluster_pid=
done

wasm=target/site/pkg/approvals.wasm
export WASM_RAW_BYTES=$(stat -c %s "$wasm")
export WASM_GZIP_BYTES=$(gzip -9 -c "$wasm" | wc -c)
export BENCH_COMMIT=$(git describe --always --dirty 2>/dev/null || echo unknown)
export BENCH_MACHINE="$(nproc) cores, $(free -g | awk '/^Mem:/ {print $2}') GiB, $(uname -sr)"
export BENCH_DAPR="daprd $("$(dapr/build.sh 2>/dev/null)/daprd" --version 2>/dev/null || echo unknown)"
"$bench_bin" report >/dev/null
echo "bench: wrote $BENCH_REPORT" >&2

#!/usr/bin/env bash
# The cluster test: two replicas (scripts/cluster.sh) on one app id. Orders started on
# replica 1 wait for a decision; replica 1's server and daprd are killed (SIGKILL);
# the waiting orders are decided through replica 2, and those left alone time out
# there: Dapr moved their workflows, and the scheduler fired their timers on the
# replica that was left. Then replica 1 comes back and serves again.
#
#   scripts/cluster-test.sh [SERVER_BIN]   (default target/debug/server; the site from
#                                           scripts/build-site.sh)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/stack-lib.sh

export SERVER_BIN=${1:-${SERVER_BIN:-target/debug/server}}
export DATA_DIR=$PWD/target/cluster-test
export REPLICAS=2 CLUSTER_PORT=3300 CLUSTER_DAPR_BASE=27000
export APP_DEMO_USERS=1 APPROVAL_TIMEOUT=30s RECONCILE_INTERVAL=5s RUST_LOG=${RUST_LOG:-warn}
a=http://127.0.0.1:3300 b=http://127.0.0.1:3301
n_decided=4 n_timed_out=4

say() { printf '[cluster-test] %s\n' "$*" >&2; }
fail() {
  say "FAILED: $*"
  for f in "$DATA_DIR"/replica-*/server.log "$DATA_DIR"/replica-*/logs/daprd.log; do
    [ -f "$f" ] && { say "last lines of $f:"; tail -n 15 "$f" >&2; }
  done
  exit 1
}

rm -rf "$DATA_DIR"
mkdir -p "$DATA_DIR"
cluster_pid=
trap '[ -n "$cluster_pid" ] && kill -TERM "$cluster_pid" 2>/dev/null; wait "$cluster_pid" 2>/dev/null || true' EXIT
start_cluster || fail "the cluster did not start"
say "two replicas up: $a and $b"

# call USER METHOD URL [BODY]: prints the HTTP status, then the body, on one line each.
call() {
  local user=$1 method=$2 url=$3 body=${4:-}
  local args=(-s -o "$DATA_DIR/body" -w '%{http_code}' --max-time 30 -u "$user:approvals-demo" -X "$method")
  [ -n "$body" ] && args+=(-H 'content-type: application/json' -d "$body")
  curl "${args[@]}" "$url" || echo 000
  echo
  cat "$DATA_DIR/body" 2>/dev/null || true
}
# What replica 2's /status says of an order: its runtime status, or the outcome in its
# output (empty while there is none).
status_of() {
  call bob GET "$b/status/$2" | sed -n 2p | python3 -c '
import json, sys
try:
    state = json.loads(sys.stdin.read())
    if sys.argv[1] == "runtime":
        print(state.get("runtime_status", ""))
    else:
        print(json.loads(state.get("serialized_output") or "{}").get("status", ""))
except ValueError:
    print("")' "$1"
}
runtime_status() { status_of runtime "$1"; }
# expect_outcome ID OUTCOME SECONDS: the order completes within SECONDS with OUTCOME.
expect_outcome() {
  local id=$1 want=$2
  for _ in $(seq 1 $(($3 * 5))); do
    [ "$(runtime_status "$id")" = COMPLETED ] && break
    sleep 0.2
  done
  [ "$(status_of outcome "$id")" = "$want" ] ||
    fail "$id did not end in \"$want\": $(call bob GET "$b/status/$id")"
}

# bob's live inbox feed, served by replica 2 (server-sent events), open while the
# orders start on replica 1: every change reaches it through the shared read model.
curl -s -o /dev/null -c "$DATA_DIR/bob.cookies" --max-time 30 -H "origin: $b" \
  -d username=bob -d password=approvals-demo "$b/api/login" || fail "bob cannot sign in on replica 2"
curl -s -N --max-time 120 -b "$DATA_DIR/bob.cookies" "$b/events" >"$DATA_DIR/events-b" &
events_pid=$!
sleep 1

# Orders over $1000, all started through replica 1: they wait for a decision.
run_id=$(date +%s)
ids=()
for i in $(seq 1 $((n_decided + n_timed_out))); do
  answer=$(call alice POST "$a/start-purchase-order" \
    "{\"order_id\": \"c$run_id-$i\", \"cost\": 1500, \"product\": \"Cluster desk $i\", \"quantity\": 1}")
  [ "$(sed -n 1p <<<"$answer")" = 200 ] || fail "start $i on replica 1: $answer"
  ids+=("po-c$run_id-$i")
done
for id in "${ids[@]}"; do
  for _ in $(seq 1 100); do
    [ "$(runtime_status "$id")" = RUNNING ] && break
    sleep 0.2
  done
  [ "$(runtime_status "$id")" = RUNNING ] || fail "$id is not RUNNING as replica 2 sees it: $(call bob GET "$b/status/$id")"
done
say "${#ids[@]} orders started on replica 1, waiting (replica 2 sees them)"
for id in "${ids[@]}"; do
  for _ in $(seq 1 50); do
    grep -qF "\"instance_id\":\"$id\",\"status\":\"awaiting_approval\"" "$DATA_DIR/events-b" && break
    sleep 0.2
  done
  grep -qF "\"instance_id\":\"$id\",\"status\":\"awaiting_approval\"" "$DATA_DIR/events-b" ||
    fail "replica 2's live feed never said $id waits: $(head -c 2000 "$DATA_DIR/events-b")"
done
kill "$events_pid" 2>/dev/null || true
say "replica 2's live inbox feed carried all ${#ids[@]} of them as they arrived"

kill -KILL "$(<"$DATA_DIR/replica-1/pids/server")" "$(<"$DATA_DIR/replica-1/pids/daprd")"
say "replica 1 killed (server and daprd, SIGKILL)"

# Decisions through replica 2, at once: the workflows live on whichever daprd
# placement gives them now.
for id in "${ids[@]:0:n_decided}"; do
  answer=$(call bob POST "$b/signal-approval/$id" '{"approver_name": "bob", "approved": true}')
  [ "$(sed -n 1p <<<"$answer")" = 200 ] || fail "approving $id on replica 2: $answer"
done
for id in "${ids[@]:0:n_decided}"; do
  expect_outcome "$id" "Approved by bob" 30
done
say "$n_decided orders approved through replica 2 and COMPLETED"

# The rest were left alone: their timers fire (30 s after the start).
for id in "${ids[@]:n_decided}"; do
  expect_outcome "$id" "Cancelled due to timeout" 60
done
say "$n_timed_out orders timed out on schedule"

# Replica 1 is started again by its scripts and serves as before.
for _ in $(seq 1 600); do
  curl -fsS -o /dev/null --max-time 2 "$a/healthz" 2>/dev/null && break
  sleep 0.2
done
answer=$(call alice POST "$a/start-purchase-order" \
  "{\"order_id\": \"c$run_id-back\", \"cost\": 10, \"product\": \"Cluster pen\", \"quantity\": 1}")
[ "$(sed -n 1p <<<"$answer")" = 200 ] || fail "start on replica 1 after it came back: $answer"
expect_outcome "po-c$run_id-back" "Auto-Approved" 30
say "replica 1 is back and serves"
say "PASSED: nothing lost when a replica died"

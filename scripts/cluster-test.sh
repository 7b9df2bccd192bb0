#!/usr/bin/env bash
# The cluster test: two replicas (scripts/cluster.sh) on one app id. Orders started on
# replica 1 wait for a decision; replica 1's server and daprd are killed (SIGKILL);
# the waiting orders are decided through replica 2, and those left alone time out
# there: Dapr moved their workflows, and the scheduler fired their timers on the
# replica that was left. Then replica 1 comes back and serves again.
#
# Then rolling restarts, as a deploy does them (scripts/cluster.sh rolling-restart):
# every replica in turn is stopped gracefully (SIGTERM to its server and daprd),
# started again and ready before the next. Sixteen more orders wait; while rolling
# restarts follow one another for 5 s, half of them are decided (approved or rejected
# by bob or carol) through alternating replicas, each retried through the other
# replica while the answer settles nothing; more rolling restarts go on while the rest
# time out. Every answer is held to what happened, and every order must end as it
# should, the same on both replicas.
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
bg_pids=()
stop_all() {
  local pid
  for pid in "${bg_pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  [ -n "$cluster_pid" ] && kill -TERM "$cluster_pid" 2>/dev/null
  wait "$cluster_pid" 2>/dev/null || true
}
trap stop_all EXIT
start_cluster || fail "the cluster did not start"
say "two replicas up: $a and $b"

# call USER METHOD URL [BODY]: prints the HTTP status (000: no answer), the body and
# curl's exit status (7: no connection made), on one line each. Calls may run at once.
call() {
  local user=$1 method=$2 url=$3 body=${4:-} out rc=0
  out=$(mktemp "$DATA_DIR/body.XXXXXX")
  local args=(-s -o "$out" -w '%{http_code}' --max-time 30 -u "$user:approvals-demo" -X "$method")
  [ -n "$body" ] && args+=(-H 'content-type: application/json' -d "$body")
  curl "${args[@]}" "$url" || rc=$?
  echo
  tr '\n' ' ' <"$out"
  echo
  echo "$rc"
  rm -f "$out"
}
# status_of runtime|outcome ID [URL]: what /status says of an order, on replica 2
# unless URL names another: its runtime status, or the outcome in its output (empty
# while there is none).
status_of() {
  call bob GET "${3:-$b}/status/$2" | sed -n 2p | python3 -c '
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
# --- A rolling restart while orders wait, are decided and time out ---------------------
phase_began=$EPOCHSECONDS
rr=$DATA_DIR/rolling
mkdir -p "$rr"
n_rr_decided=8 n_rr_timed_out=8
timeout_s=${APPROVAL_TIMEOUT%s}
urls=("$a" "$b")
# read_status ID [URL]: the order's status in the read model, as replica 2 (or URL)
# answers it (empty without an answer).
read_status() {
  call bob GET "${2:-$b}/api/orders/$1" | sed -n 2p | python3 -c '
import json, sys
try:
    print(json.loads(sys.stdin.read())["order"]["status"])
except (ValueError, KeyError, TypeError):
    print("")'
}

# Orders over $1000 through alternating replicas, a quarter of a second apart: their
# deadlines fall at different moments of the restarts. The first n_rr_timed_out are
# left to time out; the others, started last, are decided.
rr_ids=() rr_started=()
for i in $(seq 1 $((n_rr_decided + n_rr_timed_out))); do
  answer=$(call alice POST "${urls[i % 2]}/start-purchase-order" \
    "{\"order_id\": \"r$run_id-$i\", \"cost\": 600, \"product\": \"Rolling chair $i\", \"quantity\": 2}")
  [ "$(sed -n 1p <<<"$answer")" = 200 ] || fail "start r$run_id-$i on ${urls[i % 2]}: $answer"
  rr_ids+=("po-r$run_id-$i") rr_started+=("$EPOCHSECONDS")
  sleep 0.25
done
last_started=$EPOCHSECONDS
for id in "${rr_ids[@]}"; do
  for _ in $(seq 1 50); do
    [ "$(read_status "$id")" = awaiting_approval ] && break
    sleep 0.2
  done
  [ "$(read_status "$id")" = awaiting_approval ] ||
    fail "$id does not wait for approval: $(call bob GET "$b/api/orders/$id")"
done
say "${#rr_ids[@]} more orders wait (timeout ${timeout_s} s); rolling restarts begin"

# Rolling restarts one after another for 5 s, while the orders wait and some are
# decided; then again from 2 s before the first deadline until 3 s after the last,
# while the timers fire. (Not all the time: a decision answered 202, unconfirmed, is
# raised again by the reconciler once its claim is 10 s old, and a restart can hold up
# every workflow for 8 s; with a 30 s timeout, restarts all along could leave a
# decision made at once no time to land.)
rounds=0
# rolling_restarts UNTIL: rolling restarts, one after another, until the epoch second
# UNTIL (at least one).
rolling_restarts() {
  while true; do
    if ! scripts/cluster.sh rolling-restart >>"$rr/restarts.out" 2>&1; then
      echo "$((rounds + 1))" >"$rr/restart-failed"
      return 1
    fi
    rounds=$((rounds + 1))
    echo "$rounds" >"$rr/rounds"
    ((EPOCHSECONDS < $1)) || return 0
  done
}
placement_lines=$(wc -l <"$DATA_DIR/control/logs/placement.log")
(
  rolling_restarts $((EPOCHSECONDS + 5))
  sleep $((rr_started[0] + timeout_s - 2 - EPOCHSECONDS)) 2>/dev/null || true
  rolling_restarts $((last_started + timeout_s + 3))
) &
restarts_pid=$!
bg_pids+=("$restarts_pid")

# decide_while_restarting ID USER APPROVED K STARTED: USER decides ID, started at
# STARTED (epoch seconds), through replica K % 2 + 1; an answer that settles nothing
# (none, or a 5xx) is tried again half a second later through the other replica, until
# one settles it or the order's deadline is 10 s away (an attempt may take 13 s: 8 to
# raise the event, 5 to see it confirmed).
# Every answer goes to $rr/ID.answers, one a line: when asked, when answered, the
# replica, the HTTP status, curl's exit status, the body.
decide_while_restarting() {
  local id=$1 user=$2 approved=$3 k=$4 give_up=$(($5 + timeout_s - 10)) url asked answer code
  while true; do
    url=${urls[k % 2]}
    asked=$(date +%T.%3N)
    answer=$(call "$user" POST "$url/signal-approval/$id" \
      "{\"approver_name\": \"$user\", \"approved\": $approved}")
    code=$(sed -n 1p <<<"$answer")
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$asked" "$(date +%T.%3N)" "$url" "$code" \
      "$(sed -n 3p <<<"$answer")" "$(sed -n 2p <<<"$answer")" >>"$rr/$id.answers"
    [[ $code == 000 || $code == 5* ]] || return 0
    ((EPOCHSECONDS < give_up)) || return 0
    k=$((k + 1))
    sleep 0.5
  done
}
# The decided orders, one every 0.7 s while the first rolling restarts go on: approved
# or rejected, by bob or carol, first through one replica or the other.
managers=(bob carol)
decider_pids=()
: >"$rr/plan"
for id in "${rr_ids[@]:0:n_rr_timed_out}"; do
  printf '%s timeout\n' "$id" >>"$rr/plan"
done
for k in $(seq 0 $((n_rr_decided - 1))); do
  id=${rr_ids[n_rr_timed_out + k]} user=${managers[(k / 2) % 2]} approved=true
  ((k % 4 == 1 || k % 4 == 2)) && approved=false
  printf '%s decide %s %s\n' "$id" "$user" "$approved" >>"$rr/plan"
  sleep 0.7
  decide_while_restarting "$id" "$user" "$approved" "$k" "${rr_started[n_rr_timed_out + k]}" &
  decider_pids+=($!)
  bg_pids+=($!)
done
for pid in "${decider_pids[@]}"; do wait "$pid" || true; done
say "$n_rr_decided decisions answered during the first rolling restarts; more restarts while the rest time out"
wait "$restarts_pid" ||
  fail "rolling restart $(cat "$rr/restart-failed" 2>/dev/null) failed: $(tail -n 5 "$rr/restarts.out")"
if grep -q KILLED "$DATA_DIR/rolling-restart.log"; then
  fail "a process did not stop on SIGTERM: $(grep KILLED "$DATA_DIR/rolling-restart.log")"
fi
while read -r line; do
  say "rolling restart: $line"
done < <(grep WARNING "$DATA_DIR/rolling-restart.log" || true)
stalls=$(tail -n +$((placement_lines + 1)) "$DATA_DIR/control/logs/placement.log" |
  grep -c 'Dissemination timeout' || true)
say "$(cat "$rr/rounds") rolling restarts: $(grep -c 'ready again' "$DATA_DIR/rolling-restart.log") \
replicas stopped and ready again, each $(grep -o 'ready again.*' "$DATA_DIR/rolling-restart.log" |
  grep -o '[0-9.]* s after SIGTERM' | sort -n | sed -n '1s/ .*//p;$p' | paste -sd-); \
placement's dissemination timed out $stalls times meanwhile"

# Every order ends, on both replicas, within a minute of the restarts' end: the
# workflow COMPLETED, the read model final.
give_up=$((EPOCHSECONDS + 60))
for id in "${rr_ids[@]}"; do
  for url in "$a" "$b"; do
    until [ "$(status_of runtime "$id" "$url")" = COMPLETED ] &&
      [[ "$(read_status "$id" "$url")" != @(|submitted|awaiting_approval) ]]; do
      ((EPOCHSECONDS < give_up)) ||
        fail "$id did not end on $url: $(call bob GET "$url/status/$id") $(call bob GET "$url/api/orders/$id")"
      sleep 0.5
    done
  done
done
for id in "${rr_ids[@]}"; do
  for r in 1 2; do
    call bob GET "${urls[r - 1]}/status/$id" >"$rr/$id.status.$r"
    call bob GET "${urls[r - 1]}/api/orders/$id" >"$rr/$id.detail.$r"
  done
done

# What every answer said against what happened.
python3 - "$rr" "$timeout_s" >"$rr/verdict" <<'PY' || fail "the rolling restart: $(cat "$rr/verdict")"
import collections, datetime, json, os, sys

rr, timeout_s = sys.argv[1], int(sys.argv[2])
problems, kinds, late = [], collections.Counter(), []

def answer_file(path):
    lines = open(path).read().split("\n")
    code, body, rc = (lines + ["", "", ""])[:3]
    try:
        body = json.loads(body)
    except ValueError:
        pass
    return code.strip(), body, rc.strip()

def kind(code, rc, body):
    """What an answer says happened to the decision."""
    if code == "000":
        return "refused" if rc == "7" else "no answer"  # 7: no connection was made
    error = body.get("error", "") if isinstance(body, dict) else str(body)
    if code == "200":
        return "decided"
    if code == "202":
        return "accepted"
    if code == "409":
        return "conflict"
    if code.startswith("5") and "nothing was changed" in error:
        return "not applied"
    if code.startswith("5"):
        return "unknown"
    return "unexpected " + code

def when(text):
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))

for line in open(os.path.join(rr, "plan")):
    id, what, *rest = line.split()
    finals = []
    for r in (1, 2):
        code, state, _ = answer_file(os.path.join(rr, f"{id}.status.{r}"))
        dcode, detail, _ = answer_file(os.path.join(rr, f"{id}.detail.{r}"))
        if code != "200" or dcode != "200":
            problems.append(f"{id}: replica {r} answers /status {code}, /api/orders {dcode}")
            continue
        outcome = json.loads(state.get("serialized_output") or "{}").get("status")
        order = detail["order"]
        ends = [e["label"] for e in detail["timeline"]
                if e["label"].startswith(("Approved", "Rejected", "Cancelled"))]
        finals.append((state["runtime_status"], outcome, order["status"], order["decided_by"]))
        if ends != [outcome]:
            problems.append(f"{id}: replica {r}'s timeline ends {ends}, the workflow {outcome!r}")
        if order["needs_attention"] or detail["attention"]:
            problems.append(f"{id}: replica {r} says it needs attention: {detail['attention']}")
        if what == "timeout" and order.get("decided_at") and order.get("approval_deadline"):
            late.append((when(order["decided_at"]) - when(order["approval_deadline"])).total_seconds())
    if len(set(finals)) > 1:
        problems.append(f"{id}: the replicas disagree: {finals}")
    if not finals:
        continue
    runtime, outcome, status, decided_by = finals[0]
    if what == "timeout":
        if (runtime, outcome, status, decided_by) != (
                "COMPLETED", "Cancelled due to timeout", "timed_out", None):
            problems.append(f"{id} was left alone but ended {finals[0]}")
        continue
    user, approved = rest[0], rest[1] == "true"
    verb, want = ("Approved", "approved") if approved else ("Rejected", "rejected")
    answers = []
    for row in open(os.path.join(rr, f"{id}.answers")):
        asked, answered, url, code, rc, body = row.rstrip("\n").split("\t")
        try:
            body = json.loads(body)
        except ValueError:
            pass
        answers.append((kind(code, rc, body), code, body, asked, answered, url))
        kinds[answers[-1][0]] += 1
    said = "; ".join(f"{a[3]}-{a[4]} {a[5]}: {a[1]} {json.dumps(a[2])}" for a in answers)
    if (runtime, outcome, status, decided_by) != ("COMPLETED", f"{verb} by {user}", want, user):
        problems.append(f"{id}: {user} {want} it, yet it ended {finals[0]}; the answers: {said}")
    if answers[-1][0] not in ("decided", "accepted", "conflict"):
        problems.append(f"{id}: no answer settled {user}'s decision while it was tried: {said}")
    if sum(a[0] in ("decided", "accepted") for a in answers) > 1:
        problems.append(f"{id}: the decision was taken twice: {said}")
    for n, (k, code, body, *_ ) in enumerate(answers):
        if k.startswith("unexpected"):
            problems.append(f"{id}: answer {n + 1} was a {code}: {said}")
        elif k == "decided" and (body.get("status"), body.get("decided_by"), body.get("confirmed")) != (want, user, True):
            problems.append(f"{id}: a 200 that claims {body}, for {user}'s {want}: {said}")
        elif k == "accepted" and body.get("decided_by") != user:
            problems.append(f"{id}: a 202 that names {body.get('decided_by')}, not {user}: {said}")
        elif k == "conflict":
            # Only our own earlier decision can stand in the way, and only one whose
            # answer did not say it was not taken.
            earlier = {a[0] for a in answers[:n]}
            if body.get("decided_by") != user or body.get("status") not in (want, "awaiting_approval"):
                problems.append(f"{id}: a 409 that claims {body}, though only {user} decided it: {said}")
            elif not earlier & {"no answer", "unknown"}:
                problems.append(f"{id}: a 409 says {user} had decided it, but no earlier answer left that open: {said}")
    if outcome == f"{verb} by {user}" and not any(
            a[0] in ("decided", "accepted", "conflict", "no answer", "unknown") for a in answers):
        problems.append(f"{id}: decided by {user}, though every answer said it was not: {said}")

if late and max(late) > 30:
    problems.append(f"a timeout came {max(late):.1f} s after its deadline (bound 30 s)")
print("answers to the decisions: " + ", ".join(f"{n} {k}" for k, n in sorted(kinds.items())))
print("timeouts recorded %.1f-%.1f s after their deadlines" % (min(late), max(late)) if late else "no timeout times")
for p in problems:
    print("PROBLEM: " + p)
sys.exit(1 if problems else 0)
PY
while read -r line; do say "$line"; done <"$rr/verdict"
say "all ${#rr_ids[@]} orders ended as they should on both replicas: $n_rr_decided as decided, $n_rr_timed_out timed out"

# Both replicas serve after the last restart.
for r in 1 2; do
  answer=$(call alice POST "${urls[r - 1]}/start-purchase-order" \
    "{\"order_id\": \"r$run_id-after-$r\", \"cost\": 10, \"product\": \"Rolling pen\", \"quantity\": 1}")
  [ "$(sed -n 1p <<<"$answer")" = 200 ] || fail "start on replica $r after the restarts: $answer"
  expect_outcome "po-r$run_id-after-$r" "Auto-Approved" 30
done
say "both replicas serve after the restarts; the rolling-restart phase took $((EPOCHSECONDS - phase_began)) s"
say "PASSED: nothing lost when a replica died, nor while the replicas restarted one by one"

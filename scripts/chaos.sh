#!/usr/bin/env bash
# `make chaos` (and, with --short, a step of `make test`): a fresh stack under
# scripts/run.sh (which restarts whatever dies), a mixed load from `bench chaos`, and
# faults in turn: the server, daprd, placement and scheduler killed (SIGKILL), daprd
# frozen (SIGSTOP), the read model locked. It signals only the processes this stack
# started (their pids are in $DATA_DIR/pids). Then it checks that nothing was lost,
# invented or stuck, prints the counts, and (full run) writes them to CHAOS.md.
#   scripts/chaos.sh          the full suite (release build, about 6 minutes)
#   scripts/chaos.sh --short  the short suite (debug build, about 2 minutes)
#   scripts/chaos.sh --soak   no faults: a steady load for SOAK_MINUTES (30), with
#                             daprd's and the server's memory over time, into SOAK.md
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export PATH="$HOME/.cargo/bin:$PWD/node_modules/.bin:$PATH"

mode=full
[ "${1:-}" = --short ] && mode=short
[ "${1:-}" = --soak ] && mode=soak
if [ "$mode" != short ]; then
  profile=release
  scripts/build-site.sh --release
  cargo build --release -p bench
fi
if [ "$mode" = full ]; then
  export APPROVAL_TIMEOUT=60s CHAOS_REPORT=$PWD/CHAOS.md
  site_port=3300 base=24400
elif [ "$mode" = soak ]; then
  # Finished workflows are purged within minutes, to see whether daprd's memory
  # settles once retention runs.
  export APPROVAL_TIMEOUT=60s WORKFLOW_RETENTION=2m CHAOS_REPORT=$PWD/SOAK.md
  site_port=3302 base=24500
else
  # The debug server and site that `make test` has just built.
  profile=debug
  cargo build -p bench
  export APPROVAL_TIMEOUT=25s CHAOS_REPORT=$PWD/target/chaos/CHAOS.short.md
  site_port=3301 base=24450
fi
export CHAOS_MODE=$mode

export DATA_DIR=$PWD/target/chaos/$mode
rm -rf "$DATA_DIR"
mkdir -p "$DATA_DIR"
source scripts/stack-lib.sh
dapr_ports "$base"
stack_defaults
export LEPTOS_SITE_ADDR=127.0.0.1:$site_port APP_DEMO_USERS=1 RECONCILE_INTERVAL=5s
export SERVER_BIN=$PWD/target/$profile/server DAPR_LOG_LEVEL=warn RUST_LOG=warn
export LEPTOS_ENV=PROD

run=
finish() {
  [ -n "$run" ] && kill -TERM "$run" 2>/dev/null && wait "$run" 2>/dev/null
  return 0
}
trap finish EXIT
scripts/run.sh >"$DATA_DIR/run.log" 2>&1 &
run=$!
for _ in $(seq 1 1800); do
  curl -fsS -o /dev/null "http://$LEPTOS_SITE_ADDR/healthz" 2>/dev/null && break
  kill -0 "$run" 2>/dev/null || { cat "$DATA_DIR/run.log" >&2; exit 1; }
  sleep 0.1
done
curl -fsS -o /dev/null "http://$LEPTOS_SITE_ADDR/healthz" || {
  echo "chaos: the stack did not come up; see $DATA_DIR/run.log" >&2
  exit 1
}
dapr_api_token

token() { "$SERVER_BIN" token create --user "$1" 2>/dev/null | tail -n1; }
export CHAOS_BASE_URL=http://$LEPTOS_SITE_ADDR CHAOS_DB=$DATA_DIR/approvals.db
export CHAOS_PIDS=$DATA_DIR/pids CHAOS_DAPR_HTTP=http://127.0.0.1:$DAPR_HTTP_PORT
export CHAOS_ALICE_TOKEN=$(token alice) CHAOS_BOB_TOKEN=$(token bob) CHAOS_CAROL_TOKEN=$(token carol)
export CHAOS_COMMIT=$(git describe --always --dirty 2>/dev/null || echo unknown)

set +e
"target/$profile/bench" chaos
verdict=$?
set -e
if [ "$verdict" != 0 ]; then
  echo "chaos: FAILED; the stack's logs are in $DATA_DIR (run.log, logs/)" >&2
fi
exit "$verdict"

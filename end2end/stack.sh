#!/usr/bin/env bash
# One isolated stack for the browser tests (Dapr processes + the debug server built by
# `scripts/build-site.sh`): stack.sh NAME SITE_PORT APPROVAL_TIMEOUT PORT_BASE.
# Playwright starts and stops it (SIGTERM stops everything).
#
# The main stack also sends e-mail, to a local SMTP sink (scripts/smtp-sink.sh) on
# 127.0.0.1:PORT_BASE+90 that keeps each message under $DATA_DIR/mail (the e-mail link
# story reads them there), and its demo accounts have addresses: NAME@example.com.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
name=$1 port=$2 timeout=$3 base=$4

export DATA_DIR=$PWD/target/e2e/$name
rm -rf "$DATA_DIR"
mkdir -p "$DATA_DIR"
source scripts/stack-lib.sh
dapr_ports "$base"
export LEPTOS_SITE_ADDR=127.0.0.1:$port APPROVAL_TIMEOUT=$timeout APP_DEMO_USERS=1
export LEPTOS_ENV=DEV SERVER_BIN=${SERVER_BIN:-target/debug/server} RECONCILE_INTERVAL=5s
# The main stack runs an approval policy (a director above $10,000); the timeout stack
# keeps the seed's single level.
if [ "$name" != main ]; then
  exec scripts/run.sh
fi
export APPROVAL_POLICY=$PWD/end2end/approval-policy.toml

# --- main only: e-mail to a local sink ------------------------------------------------
# The sink's port sits above the Dapr ports (dapr_ports uses BASE … BASE+9) and below
# the next stack's base (BASE+100).
smtp_port=$((base + 90))
mail_dir=$DATA_DIR/mail
sink= stack=
stop() {
  trap - INT TERM EXIT
  # run.sh stops the server and the Dapr processes; then the sink.
  if [ -n "$stack" ]; then
    kill -TERM "$stack" 2>/dev/null || true
    wait "$stack" 2>/dev/null || true
  fi
  if [ -n "$sink" ]; then
    kill -TERM "$sink" 2>/dev/null || true
    wait "$sink" 2>/dev/null || true
  fi
  return 0
}
trap 'stop; exit 0' INT TERM
trap stop EXIT

# Its output goes to a file: it holds no pipe of Playwright's open.
bash scripts/smtp-sink.sh "$smtp_port" "$mail_dir" >"$DATA_DIR/smtp-sink.log" 2>&1 &
sink=$!
# The first run installs aiosmtpd into target/tools/smtp-venv.
for _ in $(seq 1 1200); do
  [ -e "$mail_dir/ready" ] && break
  kill -0 "$sink" 2>/dev/null || break
  sleep 0.1
done
if [ ! -e "$mail_dir/ready" ]; then
  echo "the SMTP sink did not start on 127.0.0.1:$smtp_port; its output:" >&2
  cat "$DATA_DIR/smtp-sink.log" >&2
  exit 1
fi
# dapr/start-sidecar.sh makes daprd's notify-email binding from these, and
# stack_defaults (scripts/stack-lib.sh) names it to the server.
export SMTP_HOST=127.0.0.1 SMTP_PORT=$smtp_port

# The demo accounts, made here before the server starts (it makes them only in a
# database without accounts, so it leaves these alone), each with an address: the
# stories never see an account without one. The database is the one run.sh gives the
# server (stack_defaults' default).
export DATABASE_URL=${DATABASE_URL:-sqlite://$DATA_DIR/approvals.db}
[ -x "$SERVER_BIN" ] || { echo "missing $SERVER_BIN: run scripts/build-site.sh" >&2; exit 1; }
for account in alice:requester bob:manager carol:manager dora:director; do
  user=${account%%:*} role=${account#*:}
  # Password on stdin: the demo password (domain::demo::PASSWORD, helpers.ts' PASSWORD).
  # A database kept from elsewhere (DATABASE_URL given) may have the account already:
  # then only its address is set.
  if ! printf '%s\n' approvals-demo |
    "$SERVER_BIN" user add --name "$user" --role "$role" --email "$user@example.com" \
      >>"$DATA_DIR/accounts.log" 2>&1 &&
    ! "$SERVER_BIN" user email --name "$user" --email "$user@example.com" \
      >>"$DATA_DIR/accounts.log" 2>&1; then
    echo "could not make the demo account $user with an e-mail address:" >&2
    cat "$DATA_DIR/accounts.log" >&2
    exit 1
  fi
done

scripts/run.sh &
stack=$!
rc=0
wait "$stack" || rc=$?
stack=
exit "$rc"

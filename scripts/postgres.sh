#!/usr/bin/env bash
# A throw-away PostgreSQL of our own under a data directory, for the stacks that run on
# PostgreSQL (DAPR_STATE=postgres, the cluster, the PostgreSQL tests). Nothing is
# installed by hand: Debian's postgresql package is installed when missing.
#
#   scripts/postgres.sh DIR
#
# Creates the cluster in DIR on first use (initdb, one role `approvals` with a random
# password kept in DIR/password, mode 0600; only password logins, only on 127.0.0.1),
# starts it on PG_PORT (default: a free port), creates the databases named in
# PG_DATABASES (default "approvals dapr"), writes DIR/url (postgres://… without a
# database name: append "/approvals") and prints one "ready" line. Stays in the
# foreground; SIGINT/SIGTERM stops the server (fast shutdown), and with WATCH_PARENT=1
# it also stops when its parent dies.
#
# Runs as root too (CI does): then the server runs as the `postgres` system user, which
# the Debian package creates, since PostgreSQL refuses to run as root.
set -euo pipefail

dir=${1:?usage: scripts/postgres.sh DIR}
log() { printf '[scripts/postgres.sh] %s\n' "$*" >&2; }

pg_bin() {
  local d
  for d in /usr/lib/postgresql/*/bin; do
    [ -x "$d/postgres" ] && { echo "$d"; return 0; }
  done
  return 1
}
if ! bin=$(pg_bin); then
  log "installing Debian's postgresql (once)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  bin=$(pg_bin)
fi

mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
as_owner=()
cluster=$dir/cluster
if [ "$(id -u)" = 0 ]; then
  as_owner=(setpriv --reuid=postgres --regid=postgres --init-groups --)
  # The server's user must reach the cluster: when DIR lies under a folder it cannot
  # enter (a clone in /root), the cluster lives in /var/tmp, named after DIR, and DIR
  # holds a link to it.
  if ! "${as_owner[@]}" test -x "$dir"; then
    cluster=/var/tmp/approvals-postgres-$(printf '%s' "$dir" | sha256sum | cut -c1-16)
    mkdir -p "$cluster"
    ln -sfn "$cluster" "$dir/cluster"
  fi
  mkdir -p "$cluster"
  chown postgres: "$cluster"
  chmod 700 "$cluster"
fi
run() { "${as_owner[@]}" "$@"; }
mkdir -p "$cluster"

fresh=0
if [ ! -s "$dir/password" ]; then
  (umask 077 && od -An -tx1 -N24 /dev/urandom | tr -d ' \n' >"$dir/password")
  fresh=1 # a cluster left from an earlier DIR of this name has another password
fi
if [ "$fresh" = 1 ] || [ ! -f "$cluster/PG_VERSION" ]; then
  find "$cluster" -mindepth 1 -delete 2>/dev/null || true
  # initdb reads the password from a file its own user can read; gone right after.
  pwfile=$(mktemp)
  cp "$dir/password" "$pwfile"
  [ ${#as_owner[@]} -eq 0 ] || chown postgres: "$pwfile"
  run "$bin/initdb" -D "$cluster" -U approvals --pwfile="$pwfile" \
    --auth=scram-sha-256 --encoding=UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 ||
    { rm -f "$pwfile"; cat "$dir/initdb.log" >&2; exit 1; }
  rm -f "$pwfile"
fi

port=${PG_PORT:-$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}
password=$(<"$dir/password")
# The socket directory is the data directory's own: nothing in /var/run is needed.
# Not through run(): a function sent to the background is a subshell, and $! would be
# that subshell instead of the server.
"${as_owner[@]}" "$bin/postgres" -D "$cluster" -h 127.0.0.1 -p "$port" -k "$cluster" \
  -c max_connections=200 -c shared_buffers=128MB -c logging_collector=off \
  >>"$dir/postgres.log" 2>&1 &
pg=$!
stop() {
  trap - INT TERM EXIT
  if kill -0 "$pg" 2>/dev/null; then
    kill -INT "$pg" 2>/dev/null || true # fast shutdown
    wait "$pg" 2>/dev/null || true
  fi
}
trap 'stop; exit 0' INT TERM
trap stop EXIT

export PGPASSWORD=$password
for _ in $(seq 1 300); do
  "$bin/pg_isready" -q -h 127.0.0.1 -p "$port" -U approvals && break
  kill -0 "$pg" 2>/dev/null || { tail -n 20 "$dir/postgres.log" >&2; exit 1; }
  sleep 0.1
done
"$bin/pg_isready" -q -h 127.0.0.1 -p "$port" -U approvals || { log "not ready in 30 s"; exit 1; }
for db in ${PG_DATABASES:-approvals dapr}; do
  if [ -z "$(psql -h 127.0.0.1 -p "$port" -U approvals -d postgres -Atc \
    "SELECT 1 FROM pg_database WHERE datname = '$db'")" ]; then
    psql -q -h 127.0.0.1 -p "$port" -U approvals -d postgres -c "CREATE DATABASE \"$db\""
  fi
done
(umask 077 && echo "postgres://approvals:$password@127.0.0.1:$port" >"$dir/url.new")
mv "$dir/url.new" "$dir/url"
echo "postgres ready: 127.0.0.1:$port data=$cluster"

parent=$PPID
while kill -0 "$pg" 2>/dev/null; do
  if [ "${WATCH_PARENT:-0}" = 1 ] && ! kill -0 "$parent" 2>/dev/null; then
    log "parent process gone; stopping"
    exit 1
  fi
  sleep 1 &
  wait $! 2>/dev/null || true
done
log "postgres exited; last lines of $dir/postgres.log:"
tail -n 20 "$dir/postgres.log" >&2
exit 1

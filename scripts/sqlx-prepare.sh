#!/usr/bin/env bash
# Every statement is checked at compile time (sqlx::query!, query_as!) against the
# schema its database's migrations build, in one crate per database (sqlx checks a
# crate against one database):
#
#   store-sqlite    against migrations/            -> store-sqlite/.sqlx
#   store-postgres  against migrations/postgres/   -> store-postgres/.sqlx
#
# The statements both read alike are written once (statements/) and compiled into
# both. The compiler reads each statement's description from those folders, committed
# with the code (SQLX_OFFLINE in .cargo/config.toml), never from a live database.
#
#   scripts/sqlx-prepare.sh          writes both afresh (after changing a statement or
#                                    adding a migration)
#   scripts/sqlx-prepare.sh --check  fails when either is out of date (make test)
#
# Each migrates a throw-away database (a SQLite file; a PostgreSQL server of our own,
# scripts/postgres.sh, unless SQLX_PREPARE_POSTGRES names one: postgres://… without a
# database name) and runs `cargo sqlx prepare` (sqlx-cli with both drivers, installed
# by scripts/setup.sh) in that crate, which recompiles that crate alone.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export PATH="${XDG_CACHE_HOME:-$HOME/.cache}/approvals/sqlx-cli-0.8.6/bin:$HOME/.cargo/bin:$PATH"
if ! sqlx --version >/dev/null 2>&1 || ! command -v cargo-sqlx >/dev/null; then
  echo "sqlx-cli is missing: run scripts/setup.sh test" >&2
  exit 1
fi

dir=$(mktemp -d)
postgres_pid=
pg_url=
cleanup() {
  if [ -n "$pg_url" ]; then
    DATABASE_URL=$pg_url sqlx database drop -y >/dev/null 2>&1 || true
  fi
  if [ -n "$postgres_pid" ]; then
    kill -TERM "$postgres_pid" 2>/dev/null || true
    wait "$postgres_pid" 2>/dev/null || true
  fi
  rm -rf "$dir"
}
trap cleanup EXIT

# prepare CRATE DATABASE_URL MIGRATIONS [--check]
prepare() {
  local crate=$1 url=$2 migrations=$3
  shift 3
  DATABASE_URL=$url sqlx database create
  DATABASE_URL=$url sqlx migrate run --source "$migrations" >/dev/null
  (cd "$crate" && DATABASE_URL=$url SQLX_OFFLINE=false cargo sqlx prepare "$@")
}

prepare store-sqlite "sqlite://$dir/schema.db" migrations "$@"

server=${SQLX_PREPARE_POSTGRES:-}
if [ -z "$server" ]; then
  source scripts/stack-lib.sh
  PG_DATABASES=postgres start_postgres "$dir/postgres"
  server=$postgres_url
fi
pg_url="$server/sqlx_prepare_$$"
prepare store-postgres "$pg_url" migrations/postgres "$@"

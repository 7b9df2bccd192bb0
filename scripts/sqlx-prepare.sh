#!/usr/bin/env bash
# Every statement is checked at compile time (sqlx::query!, query_as!) against the
# schema its database's migrations build, one crate per database because sqlx checks a
# crate against one database:
#
#   backend         SQLite's statements, against migrations/       -> backend/.sqlx
#   store-postgres  PostgreSQL's, against migrations/postgres/     -> store-postgres/.sqlx
#
# The compiler reads each statement's description from those folders, committed with
# the code (SQLX_OFFLINE in .cargo/config.toml), never from a live database.
#
#   scripts/sqlx-prepare.sh          writes both afresh (after changing a statement or
#                                    adding a migration)
#   scripts/sqlx-prepare.sh --check  fails when either is out of date (make test)
#
# Both migrate a throw-away database (a SQLite file; a PostgreSQL server of our own,
# scripts/postgres.sh, unless SQLX_PREPARE_POSTGRES names one: postgres://… without a
# database name) and compile the two crates once, online: each crate's `.env` (written
# here, removed after) names its own database, which `cargo sqlx prepare` cannot do (it
# points every crate it recompiles at one database). Each description says which
# database it is for, and goes to that crate's folder.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export PATH="${XDG_CACHE_HOME:-$HOME/.cache}/approvals/sqlx-cli-0.8.6/bin:$HOME/.cargo/bin:$PATH"
if ! sqlx --version >/dev/null 2>&1; then
  echo "sqlx-cli is missing: run scripts/setup.sh test" >&2
  exit 1
fi
check=false
case "${1:-}" in
  --check) check=true ;;
  "") ;;
  *) echo "usage: scripts/sqlx-prepare.sh [--check]" >&2; exit 2 ;;
esac

dir=$(mktemp -d)
postgres_pid=
pg_url=
cleanup() {
  rm -f backend/.env store-postgres/.env
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

sqlite_url="sqlite://$dir/schema.db"
DATABASE_URL=$sqlite_url sqlx database create
DATABASE_URL=$sqlite_url sqlx migrate run --source migrations >/dev/null

server=${SQLX_PREPARE_POSTGRES:-}
if [ -z "$server" ]; then
  source scripts/stack-lib.sh
  PG_DATABASES=postgres start_postgres "$dir/postgres"
  server=$postgres_url
fi
pg_url="$server/sqlx_prepare_$$"
DATABASE_URL=$pg_url sqlx database create
DATABASE_URL=$pg_url sqlx migrate run --source migrations/postgres >/dev/null

echo "DATABASE_URL=$sqlite_url" >backend/.env
echo "DATABASE_URL=$pg_url" >store-postgres/.env
# Every statement is described afresh: both crates compile again, online.
find backend/src store-postgres/src -name '*.rs' -exec touch {} +
mkdir -p "$dir/all"
(
  unset DATABASE_URL
  SQLX_OFFLINE=false SQLX_OFFLINE_DIR="$dir/all" \
    cargo check -q -p backend -p store-postgres --all-targets --features backend/testing
)
rm -f backend/.env store-postgres/.env
# The next ordinary build reads the descriptions again, offline.
find backend/src store-postgres/src -name '*.rs' -exec touch {} +

split() {
  local db=$1 into=$2
  mkdir -p "$into"
  echo "$db: $(grep -l "\"db_name\": \"$db\"" "$dir"/all/query-*.json | wc -l) of $(ls "$dir"/all | wc -l)" >&2
  grep -l "\"db_name\": \"$db\"" "$dir"/all/query-*.json | xargs -r cp -t "$into"
}
split SQLite "$dir/backend"
split PostgreSQL "$dir/store-postgres"

status=0
for crate in backend store-postgres; do
  if $check; then
    if ! diff -rq "$dir/$crate" "$crate/.sqlx" >/dev/null 2>&1; then
      echo "$crate/.sqlx is out of date: run scripts/sqlx-prepare.sh" >&2
      diff -rq "$dir/$crate" "$crate/.sqlx" >&2 || true
      status=1
    else
      echo "$crate/.sqlx: current ($(ls "$crate/.sqlx" | wc -l) statements)"
    fi
  else
    rm -rf "$crate/.sqlx"
    cp -r "$dir/$crate" "$crate/.sqlx"
    echo "$crate/.sqlx: $(ls "$crate/.sqlx" | wc -l) statements"
  fi
done
exit "$status"

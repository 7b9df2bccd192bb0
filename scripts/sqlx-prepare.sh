#!/usr/bin/env bash
# The SQL in backend is checked at compile time (sqlx::query!, query_as!) against the
# schema that migrations/ builds. The compiler reads each query's description from
# backend/.sqlx, committed with the code:
#
#   scripts/sqlx-prepare.sh          writes backend/.sqlx afresh (after changing a
#                                    query or adding a migration)
#   scripts/sqlx-prepare.sh --check  fails when backend/.sqlx is out of date (make test)
#
# Both migrate a throw-away SQLite database and run `cargo sqlx prepare` (sqlx-cli,
# installed by scripts/setup.sh) against it.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export PATH="$HOME/.cargo/bin:$PATH"

dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
export DATABASE_URL="sqlite://$dir/schema.db"
sqlx database create
sqlx migrate run --source migrations >/dev/null
cd backend
SQLX_OFFLINE=false cargo sqlx prepare "$@" -- --all-targets --features testing

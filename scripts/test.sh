#!/usr/bin/env bash
# Every test: formatting, lints, the WASM bundle's dependency boundary, unit tests,
# integration tests against real Dapr processes, and the browser tests.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export PATH="$HOME/.cargo/bin:$PWD/node_modules/.bin:$PATH"

started=$SECONDS
step() { printf '\n\033[1m== %s\033[0m (at %ds)\n' "$*" "$((SECONDS - started))"; }

export DAPR_BIN_DIR=${DAPR_BIN_DIR:-$(dapr/build.sh)}

step "format"
cargo fmt --all --check

step "landed migrations unchanged and expanding before they contract, compile-time SQL descriptions current, layers kept"
scripts/check-migrations.sh
scripts/check-expand-contract.py
scripts/check-layers.py
scripts/sqlx-prepare.sh --check

step "lints"
cargo clippy -p server -p bench -p backend -p base -p store-sqlite -p store-postgres -p domain \
  --all-targets -- -D warnings
cargo clippy -p app --features ssr --all-targets -- -D warnings
cargo clippy -p frontend --target wasm32-unknown-unknown -- -D warnings

step "Kubernetes manifests (deploy/k8s) against the API's and Dapr's schemas"
scripts/validate-k8s.sh

step "no server crate in the WASM bundle"
leaks=$(cargo tree -p frontend --target wasm32-unknown-unknown -e normal --prefix none \
  | grep -E '^(backend|base|store-sqlite|store-postgres|dapr|sqlx|tokio|axum|leptos_axum|tonic|hyper|utoipa) ' | sort -u || true)
if [ -n "$leaks" ]; then
  echo "server crates reach the WASM bundle:" >&2
  echo "$leaks" >&2
  exit 1
fi
echo "none"

step "unit tests, and the HTTP layer on the in-memory workflow engine"
cargo test -p domain -p base -p backend -p bench
cargo test -p app --features ssr
# The tests run side by side in one process, each with a router of its own. Listing a
# router's routes renders the app under a flag that holds back every Leptos resource in
# the process, so a router built while another test rendered a page stalled that page
# until the 60 s request timeout (1 run in ~13); server::app lists them once per process.
cargo test -p server --lib --bins
cargo test -p server --test http
cargo test -p server --test forms
cargo test -p server --test connections

step "integration tests (real placement, scheduler, daprd)"
cargo test -p server --test api

# The same tests on PostgreSQL: each test gets a fresh database of a throw-away server
# of our own (scripts/postgres.sh), for the read model and for Dapr's workflow state.
step "unit tests, the HTTP layer and the integration tests again, on PostgreSQL"
source scripts/stack-lib.sh
rm -rf target/test-postgres
start_postgres "$PWD/target/test-postgres"
trap 'kill -TERM "$postgres_pid" 2>/dev/null; wait "$postgres_pid" 2>/dev/null' EXIT
export APPROVALS_TEST_POSTGRES=$postgres_url
# PostgreSQL-only tests are #[ignore]d, so the SQLite round lists them as ignored;
# here they run.
cargo test -p backend -- --include-ignored
cargo test -p server --test http --test forms
APPROVALS_TEST_DAPR_PG=$postgres_url cargo test -p server --test api
unset APPROVALS_TEST_POSTGRES
kill -TERM "$postgres_pid"
wait "$postgres_pid" 2>/dev/null || true
trap - EXIT

# The browser tests and the benchmark smoke run need the server binary and the WASM
# built together (scripts/build-site.sh; the same compiled artifacts as the tests).
step "site build (server + hydrating WASM)"
scripts/build-site.sh

step "benchmark harness smoke run (tiny N, debug build; numbers not kept)"
BENCH_PROFILE=debug BENCH_SCALE=0.01 BENCH_DECISION_ROUNDS=1 BENCH_REPORT=target/bench/BENCHMARKS.smoke.md scripts/bench.sh
grep -q "## 6. The limit" target/bench/BENCHMARKS.smoke.md
grep -q "## 8. Replicas" target/bench/BENCHMARKS.smoke.md
grep -q "## 9. The decision path" target/bench/BENCHMARKS.smoke.md

step "API fuzzing: schemathesis over the OpenAPI document, as nobody and each role (seeded, 30 s each)"
scripts/fuzz-api.sh 30

step "chaos suite, short run (processes killed and frozen, read model locked, under load)"
scripts/chaos.sh --short

step "cluster: two replicas on one app id, one of them killed while orders wait"
scripts/cluster-test.sh target/debug/server

step "browser tests (Playwright, Debian chromium)"
set +e
(cd end2end && npx playwright test)
e2e=$?
set -e
# One plain summary line for CI, from Playwright's JSON report.
node -e '
  const r = require("./target/e2e/results.json").stats;
  console.log(`playwright: ${r.expected} passed, ${r.unexpected + r.flaky} failed, ${r.skipped} skipped`);
' || echo "playwright: no report written"
[ "$e2e" = 0 ] || exit "$e2e"

step "done"

#!/usr/bin/env bash
# Property-based fuzzing of the JSON API from its own OpenAPI document (schemathesis,
# from PyPI), against a real stack (placement, scheduler, daprd, the debug server of
# scripts/build-site.sh): every operation, with valid and invalid data, as nobody, as a
# requester, a manager and a director. Fails on any 5xx, any status code or body the
# document does not describe, invalid data accepted or valid data refused.
# Seeded and bounded in time; reports (JUnit, NDJSON) under target/fuzz/.
#   scripts/fuzz-api.sh [SECONDS_PER_ROLE]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

per_role=${1:-45}
seed=${FUZZ_SEED:-20261207}
port=3103
report=$PWD/target/fuzz
rm -rf "$report"
mkdir -p "$report"

source scripts/venv-lib.sh
venv=target/tools/fuzz-venv
tool_venv "$venv" schemathesis schemathesis==4.32.5

export SERVER_BIN=${SERVER_BIN:-target/debug/server}
# A stack of its own (end2end/stack.sh: demo accounts, a long approval timeout).
bash end2end/stack.sh fuzz "$port" 600s 24600 >"$report/stack.log" 2>&1 &
stack=$!
stop() {
  kill -TERM "$stack" 2>/dev/null || true
  wait "$stack" 2>/dev/null || true
}
trap stop EXIT
for _ in $(seq 1 180); do
  curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
  kill -0 "$stack" 2>/dev/null || { cat "$report/stack.log"; exit 1; }
  sleep 1
done
curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null

# Two checks are left out, each for a rule stronger than the check assumes (the HTTP
# tests cover both): positive_data_acceptance expects every schema-valid body to be
# taken, but our rules refuse more than a JSON schema can say (control characters and
# invisible formatting in text, cents, an order's state) with a 422 naming the field;
# ignored_auth sends wrong Basic passwords again and again and expects 401 each time,
# where the sign-in limits answer 429 after a few.
#
# Bearer tokens, not passwords: the fuzzer's thousands of calls would otherwise meet
# the sign-in limits (which the HTTP tests cover) instead of the operations.
export DATABASE_URL="sqlite://$PWD/target/e2e/fuzz/approvals.db"
token() { "$SERVER_BIN" token create --user "$1" 2>/dev/null; }

failed=0
for role in nobody alice bob dora; do
  auth=()
  if [ "$role" != nobody ]; then
    auth=(-H "Authorization: Bearer $(token "$role")")
  fi
  echo "-- as $role (${per_role}s, seed $seed)"
  # Run from the report folder: schemathesis keeps a cache where it runs. One worker:
  # with two, Python (3.11 here) once failed a run with an internal SystemError
  # ("AST constructor recursion depth mismatch") while compiling in two threads.
  if ! (cd "$report" && "$OLDPWD/$venv/bin/schemathesis" run "http://127.0.0.1:$port/openapi.json" \
    "${auth[@]}" \
    --checks all \
    --exclude-checks positive_data_acceptance,ignored_auth \
    --seed "$seed" \
    --max-time "$per_role" \
    --workers 1 \
    --request-timeout 30 \
    --suppress-health-check too_slow \
    --generation-database none \
    --report junit,ndjson \
    --report-dir "$report/$role" \
    --no-color); then
    failed=1
  fi
done
[ "$failed" = 0 ] || { echo "the fuzzer found problems: reports in $report" >&2; exit 1; }
echo "no problems found; reports in $report"

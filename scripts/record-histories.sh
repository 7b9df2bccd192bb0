#!/usr/bin/env bash
# Records replay fixtures: runs every path through the orchestration on a real daprd
# (server/tests/api/histories.rs) and writes each history, as daprd's history API
# answers it, to backend/histories/SET/PATH.json with the build that made it. The
# replay test (`cargo test -p backend replay`) holds every later build to them.
#
#   scripts/record-histories.sh SET
#
# SET names the orchestration's version the fixtures belong to: the newest patch it
# takes (see ARCHITECTURE.md, "Changing the orchestration"). A set is never re-recorded
# or deleted while instances of its version may still be running; a new patch records
# a new set beside the old ones.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
set_name=${1:?usage: scripts/record-histories.sh SET (the newest patch the orchestration takes)}
dir=backend/histories/$set_name
if [ -e "$dir" ]; then
  echo "record-histories: $dir exists; a recorded set stays as it is (record a new set)" >&2
  exit 1
fi
DAPR_BIN_DIR=$(dapr/build.sh)
export DAPR_BIN_DIR
mkdir -p "$dir"
APPROVALS_RECORD_HISTORIES=$PWD/$dir \
  APPROVALS_RECORDED_APP="$(git describe --always --dirty)" \
  cargo test -p server --test api histories -- --test-threads 2
echo "record-histories: $(ls "$dir" | wc -l) fixtures in $dir"

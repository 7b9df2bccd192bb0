#!/usr/bin/env bash
# Installs whatever is missing to build, run and test Approvals on a fresh Debian
# machine, and nothing that is already there; then builds what the next step needs.
#
#   scripts/setup.sh run    for `make run`: tools, Dapr, and the release build
#   scripts/setup.sh test   for `make test`: tools, Dapr, and Debian's chromium
#
# What it installs: the wasm target, wasm-bindgen-cli (the exact version in
# Cargo.lock), Node packages (wasm-opt, sass, lightningcss, swc, Playwright), and the
# Dapr runtime binaries (see dapr/build.sh); for tests also Debian chromium and
# sqlx-cli. Nothing comes from outside the package registries.
#
# The Go build of Dapr runs in the background from the start (it waits on the Go
# module proxy first, then compiles), beside the Rust steps; its log is in
# target/setup/dapr.log, and a failure shows its tail. Each step's time is printed at
# the end. Safe to run again and again: a second run takes seconds.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

mode=${1:-}
case "$mode" in
  run | test) ;;
  *) echo "usage: scripts/setup.sh run|test" >&2; exit 2 ;;
esac

export PATH="$HOME/.cargo/bin:$PWD/node_modules/.bin:$PATH"
log() { printf '\033[1m[setup]\033[0m %s\n' "$*" >&2; }
logs=target/setup
mkdir -p "$logs" data
started=$SECONDS
times=()
# timed LABEL COMMAND…: runs the command and keeps its time for the summary.
timed() {
  local label=$1 t=$SECONDS
  shift
  "$@"
  times+=("$(printf '%-38s %5ds' "$label" $((SECONDS - t)))")
}

dapr_started=$SECONDS
dapr/build.sh >"$logs/dapr.bin" 2>"$logs/dapr.log" &
dapr_pid=$!

if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
  log "adding the wasm32-unknown-unknown target"
  timed "rustup target wasm32" rustup target add wasm32-unknown-unknown
fi

if [ ! -d node_modules ] || [ package.json -nt node_modules/.installed ]; then
  log "installing Node packages (wasm-opt, sass, lightningcss, swc, Playwright)"
  timed "npm install" npm install --no-audit --no-fund --loglevel=error
  touch node_modules/.installed
fi

if [ "$mode" = test ] && [ ! -x /usr/bin/chromium ]; then
  log "installing Debian chromium for the browser tests"
  install_chromium() {
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  }
  timed "apt chromium" install_chromium
fi

# The CLI must match the library exactly; the version comes from Cargo.lock.
wb=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)
if [ "$(wasm-bindgen --version 2>/dev/null)" != "wasm-bindgen $wb" ]; then
  log "installing wasm-bindgen-cli $wb (compiles for a few minutes, once)"
  # Not --locked: its own lockfile wants a crate version the registry lacks.
  timed "cargo install wasm-bindgen-cli" cargo install wasm-bindgen-cli --version "$wb" --force --quiet
fi

# Tests check that the compile-time descriptions of our SQL (store-sqlite/.sqlx,
# store-postgres/.sqlx) are current: sqlx-cli with both drivers, in a
# folder of its own (scripts/sqlx-prepare.sh looks there).
sqlx_root=${XDG_CACHE_HOME:-$HOME/.cache}/approvals/sqlx-cli-0.8.6
if [ "$mode" = test ] && [ ! -x "$sqlx_root/bin/sqlx" ]; then
  log "installing sqlx-cli 0.8.6 (SQLite and PostgreSQL)"
  timed "cargo install sqlx-cli" cargo install sqlx-cli --version 0.8.6 --locked \
    --no-default-features --features sqlite,postgres,rustls --root "$sqlx_root" --quiet
fi

if [ "$mode" = run ]; then
  log "building the site (release)"
  timed "site build (release)" scripts/build-site.sh --release
fi

if ! wait "$dapr_pid"; then
  log "building the Dapr runtime failed; the end of target/setup/dapr.log:"
  tail -n 40 "$logs/dapr.log" >&2
  exit 1
fi
if grep -q 'build took' "$logs/dapr.log"; then
  times+=("$(printf '%-38s %5ds' "Dapr runtime (go build, in background)" $((SECONDS - dapr_started)))")
fi
dapr_bin=$(tail -n 1 "$logs/dapr.bin")
printf '%s\n' "$dapr_bin" >data/.dapr-bin-dir

if [ ${#times[@]} -gt 0 ]; then
  log "set-up steps (each step's own time; Dapr overlaps the others):"
  printf '  %s\n' "${times[@]}" >&2
  log "$(printf '%-38s %5ds' "set-up in all" $((SECONDS - started)))"
fi
log "ready (Dapr binaries in $dapr_bin)"

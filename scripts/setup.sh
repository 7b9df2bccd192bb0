#!/usr/bin/env bash
# Installs whatever is missing to build, run and test Approvals on a fresh Debian
# machine, and nothing that is already there: the wasm target, cargo-leptos,
# wasm-bindgen-cli (the exact version in Cargo.lock), Node packages, Debian chromium,
# and the Dapr runtime binaries (see dapr/build.sh). Safe to run again and again.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

log() { printf '\033[1m[setup]\033[0m %s\n' "$*" >&2; }
export PATH="$HOME/.cargo/bin:$PATH"

if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
  log "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

if [ "$(cargo leptos --version 2>/dev/null)" != "cargo-leptos 0.3.10" ]; then
  log "installing cargo-leptos 0.3.10 (about 13 minutes on 2 cores, once)"
  cargo install cargo-leptos@0.3.10 --locked --features no_downloads
fi

# The CLI must match the library exactly; the version comes from Cargo.lock.
wb=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)
if [ "$(wasm-bindgen --version 2>/dev/null)" != "wasm-bindgen $wb" ]; then
  log "installing wasm-bindgen-cli $wb"
  # Not --locked: its own lockfile wants a crate version the registry lacks.
  cargo install wasm-bindgen-cli --version "$wb" --force
fi

if [ ! -d node_modules ] || [ package.json -nt node_modules/.installed ]; then
  log "installing Node packages (wasm-opt, sass, Playwright)"
  npm install --no-audit --no-fund
  touch node_modules/.installed
fi

if [ ! -x /usr/bin/chromium ]; then
  log "installing Debian chromium for the browser tests"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi

log "Dapr runtime"
dapr_bin=$(dapr/build.sh)
mkdir -p data
printf '%s\n' "$dapr_bin" > data/.dapr-bin-dir
log "ready (Dapr binaries in $dapr_bin)"

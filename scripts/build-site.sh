#!/usr/bin/env bash
# Builds the site: the server binary and, under target/site, what the browser loads
# (the hydrating WASM and its JS, the CSS, the static assets). It does what
# `cargo leptos build` (0.3.10) does for us, with the same pinned tools and the same
# output, without the 13–20 minutes cargo-leptos takes to install on a fresh machine.
#
#   scripts/build-site.sh            debug: target/debug/server, unoptimised WASM
#   scripts/build-site.sh --release  release: target/release/server, WASM with the
#                                    wasm-release profile and wasm-opt -Oz, minified JS
#                                    and CSS
#
# The server and the WASM compile at the same time (different targets and target
# dirs; the WASM's single-unit LTO link would otherwise leave a core idle). Each step's
# time is printed. Compile-time settings shared with every other cargo command (the
# erase_components cfg, LEPTOS_OUTPUT_NAME) live in .cargo/config.toml.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export PATH="$HOME/.cargo/bin:$PWD/node_modules/.bin:$PATH"

release=0
case "${1:-}" in
  --release) release=1 ;;
  "") ;;
  *) echo "usage: scripts/build-site.sh [--release]" >&2; exit 2 ;;
esac

name=approvals # = LEPTOS_OUTPUT_NAME in .cargo/config.toml
site=target/site
pkg=$site/pkg
logs=target/build-site
mkdir -p "$logs"

took() { printf '[build-site] %-34s %4ds\n' "$1" "$2" >&2; }
fail_with_log() {
  echo "[build-site] $1 failed; its output:" >&2
  tail -n 60 "$2" >&2
  exit 1
}

if [ "$release" = 1 ]; then
  server_flags=(--release) wasm_flags=(--profile wasm-release) wasm_dir=wasm-release
else
  server_flags=() wasm_flags=() wasm_dir=debug
fi

started=$SECONDS
# cargo's own progress goes to the log files; a failure shows its tail.
cargo build -p server --bin server --no-default-features "${server_flags[@]}" \
  >"$logs/server.log" 2>&1 &
server_pid=$!
cargo build -p frontend --lib --target wasm32-unknown-unknown --target-dir target/front \
  --no-default-features "${wasm_flags[@]}" >"$logs/wasm.log" 2>&1 &
wasm_pid=$!

wasm_ok=0
wait "$wasm_pid" || wasm_ok=$?
[ "$wasm_ok" = 0 ] || { kill "$server_pid" 2>/dev/null || true; fail_with_log "the WASM build" "$logs/wasm.log"; }
took "WASM (cargo, wasm32)" $((SECONDS - started))

step=$SECONDS
rm -rf "$site"
mkdir -p "$pkg"
wasm-bindgen --target=web --out-name="$name" --out-dir="$pkg" \
  "target/front/wasm32-unknown-unknown/$wasm_dir/frontend.wasm"
mv "$pkg/${name}_bg.wasm" "$pkg/$name.wasm"
if [ "$release" = 1 ]; then
  # --converge repeats the passes while they still shrink the module (about 0.7 KiB
  # gzip); debug and producer sections carry nothing a browser needs.
  wasm-opt -Oz --converge --strip-debug --strip-producers \
    --enable-bulk-memory --enable-nontrapping-float-to-int \
    "$pkg/$name.wasm" -o "$pkg/$name.wasm"
  # The JS glue, minified as cargo-leptos does it (swc: compress, mangle, module).
  node -e '
    const fs = require("fs"), file = process.argv[1];
    require("@swc/core")
      .minify(fs.readFileSync(file, "utf8"), { compress: true, mangle: true, module: true })
      .then((out) => fs.writeFileSync(file, out.code))
      .catch((e) => { console.error(e); process.exit(1); });
  ' "$pkg/$name.js"
fi
took "wasm-bindgen$([ "$release" = 1 ] && echo ', wasm-opt, JS minify')" $((SECONDS - step))

step=$SECONDS
css=$(mktemp --suffix=.css)
trap 'rm -f "$css"' EXIT
if [ "$release" = 1 ]; then
  sass style/main.scss --no-source-map >"$css"
  lightningcss --targets defaults --minify "$css" -o "$pkg/$name.css"
else
  sass style/main.scss >"$css"
  lightningcss --targets defaults "$css" -o "$pkg/$name.css"
fi
# Static assets (public/index.html would be the app's own page, so never copied).
(cd public && find . -mindepth 1 -maxdepth 1 ! -name index.html -exec cp -a {} "../$site/" \;)
took "CSS (sass, lightningcss), assets" $((SECONDS - step))

server_ok=0
wait "$server_pid" || server_ok=$?
[ "$server_ok" = 0 ] || fail_with_log "the server build" "$logs/server.log"
took "server (cargo)" $((SECONDS - started))
took "site build in all" $((SECONDS - started))

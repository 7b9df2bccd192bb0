#!/usr/bin/env bash
# Provides the Dapr runtime binaries (daprd, placement, scheduler) and prints
# the absolute path of the directory holding them as the ONLY line on stdout:
#
#     BIN=$(dapr/build.sh)
#
# Everything else (progress, go build output, timing) goes to stderr.
#
# Where the binaries come from, first match wins:
#   1. $DAPR_BIN_DIR, if set and it holds all three binaries;
#   2. ~/.dapr/bin (a Dapr CLI install), if it holds all three;
#   3. our own build of dapr/runtime (see runtime/go.mod), cached outside git in
#        ${XDG_CACHE_HOME:-$HOME/.cache}/approvals/dapr/<version>-<hash>/bin
#      where <hash> covers go.mod, go.sum, every .go file under runtime/ and
#      the build flags. An existing cache entry is reused without running go.
# Set DAPR_FORCE_BUILD=1 to skip 1 and 2.
#
# The build needs Go >= the go directive of runtime/go.mod and the Go module
# proxy (or a warm module cache). It uses the normal persistent GOCACHE and
# GOMODCACHE, so a rebuild after a small change takes seconds; a cold build
# takes several minutes on 2 cores.
set -euo pipefail

# Keep stdout for the final path only.
exec 3>&1 1>&2

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
runtime_dir="$here/runtime"

log() { printf '[dapr/build.sh] %s\n' "$*" >&2; }
has_all() {
  local d=$1
  [ -x "$d/daprd" ] && [ -x "$d/placement" ] && [ -x "$d/scheduler" ]
}
done_with() {
  local d
  d=$(cd "$1" && pwd -P)
  log "using $d"
  printf '%s\n' "$d" >&3
  exit 0
}

if [ "${DAPR_FORCE_BUILD:-0}" != 1 ]; then
  if [ -n "${DAPR_BIN_DIR:-}" ]; then
    if has_all "$DAPR_BIN_DIR"; then
      done_with "$DAPR_BIN_DIR"
    fi
    log "DAPR_BIN_DIR=$DAPR_BIN_DIR does not hold daprd, placement and scheduler; ignoring it"
  fi
  if has_all "$HOME/.dapr/bin"; then
    log "found a Dapr CLI install in ~/.dapr/bin"
    done_with "$HOME/.dapr/bin"
  fi
fi

# --- our own build --------------------------------------------------------

# Dapr version = the version of github.com/dapr/dapr required by runtime/go.mod.
version=$(sed -nE 's/^[[:space:]]*(require[[:space:]]+)?github\.com\/dapr\/dapr[[:space:]]+v([^[:space:]]+).*/\2/p' \
  "$runtime_dir/go.mod" | head -n1)
if [ -z "$version" ]; then
  log "cannot find the github.com/dapr/dapr requirement in $runtime_dir/go.mod"
  exit 1
fi

# Same -X variables as dapr's Makefile (less the git commit), stripped like
# dapr's release builds.
ldflags="-s -w -X github.com/dapr/dapr/pkg/buildinfo.version=$version"
ldflags+=" -X github.com/dapr/dapr/pkg/buildinfo.gitversion=v$version"
ldflags+=" -X github.com/dapr/kit/logger.DaprVersion=$version"
build_flags=(-trimpath -ldflags "$ldflags")
packages=(./cmd/daprd ./cmd/placement ./cmd/scheduler)

hash=$(
  {
    # go.mod, go.sum and every Go source file of the module, in a stable order.
    cd "$runtime_dir"
    find . -name '*.go' -o -name go.mod -o -name go.sum | LC_ALL=C sort | while read -r f; do
      printf '%s\n' "$f"
      cat "$f"
    done
    printf 'CGO_ENABLED=0 %s\n' "${build_flags[*]} ${packages[*]}"
  } | sha256sum | cut -c1-16
)
entry="${XDG_CACHE_HOME:-$HOME/.cache}/approvals/dapr/$version-$hash"
bin="$entry/bin"

if has_all "$bin"; then
  done_with "$bin"
fi

mkdir -p "$entry"
# Serialise concurrent builds of the same entry.
exec 9>"$entry/.lock"
flock 9
if has_all "$bin"; then
  done_with "$bin"
fi

if ! command -v go >/dev/null 2>&1; then
  log "go is not on PATH; install Go $(sed -nE 's/^go ([0-9.]+)$/\1/p' "$runtime_dir/go.mod") or newer, or set DAPR_BIN_DIR"
  exit 1
fi

log "building Dapr $version (daprd, placement, scheduler) with $(go env GOVERSION) into $bin"
log "GOCACHE=$(go env GOCACHE) GOMODCACHE=$(go env GOMODCACHE)"
start=$(date +%s)
tmp=$(mktemp -d "$entry/bin.tmp.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
(
  cd "$runtime_dir"
  CGO_ENABLED=0 go build "${build_flags[@]}" -o "$tmp/" "${packages[@]}"
)
rm -rf "$bin"
mv -T "$tmp" "$bin"
trap - EXIT
elapsed=$(($(date +%s) - start))
log "build took $((elapsed / 60))m$((elapsed % 60))s"
for b in daprd placement scheduler; do
  log "$(du -h "$bin/$b" | cut -f1) $bin/$b"
done
"$bin/daprd" --version | sed 's/^/[dapr\/build.sh] daprd --version: /' >&2
done_with "$bin"

#!/usr/bin/env bash
# Validates deploy/k8s against the Kubernetes API's schemas (kubernetes-validate, from
# PyPI) and Dapr's own CRDs (from the dapr/dapr Go module we build daprd from), strictly:
# an unknown or misspelt field fails. See scripts/validate-k8s.py.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# The oldest Kubernetes we claim to run on, and the newest the package knows.
versions=(1.31.0 1.37.0)
source scripts/venv-lib.sh
venv=target/tools/k8s-venv
tool_venv "$venv" kubernetes_validate kubernetes-validate==1.37.0 jsonschema pyyaml

dapr_version=$(sed -nE 's/^[[:space:]]*(require[[:space:]]+)?github\.com\/dapr\/dapr[[:space:]]+(v[^[:space:]]+).*/\2/p' \
  dapr/runtime/go.mod | head -n1)
crds="$(cd dapr/runtime && go env GOMODCACHE)/github.com/dapr/dapr@$dapr_version/charts/dapr/crds"
if [ ! -d "$crds" ]; then
  (cd dapr/runtime && go mod download "github.com/dapr/dapr@$dapr_version")
fi

for v in "${versions[@]}"; do
  echo "Kubernetes $v, Dapr $dapr_version:"
  "$venv/bin/python" scripts/validate-k8s.py "$v" "$crds" deploy/k8s/*.yaml
done

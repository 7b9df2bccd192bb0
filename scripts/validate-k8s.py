"""Validates our Kubernetes manifests against real schemas, strictly (an unknown field
is an error, as with `kubectl apply --validate=strict`).

  python validate-k8s.py K8S_VERSION DAPR_CRD_DIR FILE...

Built-in kinds are checked with kubernetes-validate (the cluster's OpenAPI schemas,
bundled in the package); Dapr's kinds (Component, Configuration) against the
openAPIV3Schema of Dapr's own CRDs (charts/dapr/crds in the dapr/dapr Go module of the
version we build); a Kustomization must list only files that exist. Anything else, or a
kind without a schema, fails. Run by scripts/validate-k8s.sh.
"""

import copy
import os
import sys

import jsonschema
import kubernetes_validate
import yaml


def strict(schema):
    """The CRD schema with unknown fields refused wherever it lists the known ones."""
    schema = copy.deepcopy(schema)

    def walk(node):
        if not isinstance(node, dict):
            return
        if (
            "properties" in node
            and "additionalProperties" not in node
            and not node.get("x-kubernetes-preserve-unknown-fields")
        ):
            node["additionalProperties"] = False
        for key in ("properties", "patternProperties", "definitions"):
            for child in node.get(key, {}).values():
                walk(child)
        for key in ("items", "additionalProperties", "not"):
            walk(node.get(key))
        for key in ("allOf", "anyOf", "oneOf"):
            for child in node.get(key, []):
                walk(child)

    walk(schema)
    # apiVersion, kind and metadata are the API server's, not in the CRD's schema.
    for field in ("apiVersion", "kind", "metadata"):
        schema.setdefault("properties", {}).setdefault(field, {})
    return schema


def dapr_schemas(crd_dir):
    schemas = {}
    for name in sorted(os.listdir(crd_dir)):
        with open(os.path.join(crd_dir, name)) as f:
            for crd in yaml.safe_load_all(f):
                if not crd or crd.get("kind") != "CustomResourceDefinition":
                    continue
                group = crd["spec"]["group"]
                kind = crd["spec"]["names"]["kind"]
                for version in crd["spec"]["versions"]:
                    schema = version.get("schema", {}).get("openAPIV3Schema")
                    if schema:
                        schemas[(f"{group}/{version['name']}", kind)] = strict(schema)
    return schemas


def main():
    k8s_version, crd_dir, files = sys.argv[1], sys.argv[2], sys.argv[3:]
    crds = dapr_schemas(crd_dir)
    failures = 0
    for path in files:
        with open(path) as f:
            docs = [d for d in yaml.safe_load_all(f) if d]
        for doc in docs:
            what = f"{path}: {doc.get('kind')} {doc.get('metadata', {}).get('name', '')}"
            try:
                key = (doc.get("apiVersion"), doc.get("kind"))
                if key[1] == "Kustomization":
                    here = os.path.dirname(path)
                    missing = [
                        r
                        for r in doc.get("resources", [])
                        if not os.path.exists(os.path.join(here, r))
                    ]
                    if missing:
                        raise ValueError(f"lists missing resources {missing}")
                    # A moving tag lets two nodes run two builds of one release.
                    floating = [
                        i.get("name")
                        for i in doc.get("images", [])
                        if not i.get("digest") and i.get("newTag", "latest") == "latest"
                    ]
                    if floating:
                        raise ValueError(
                            f"images {floating} have no version tag or digest (never `latest`)"
                        )
                elif str(key[0]).startswith("dapr.io/"):
                    if key not in crds:
                        raise ValueError(f"Dapr has no CRD for {key}")
                    jsonschema.validate(doc, crds[key])
                else:
                    kubernetes_validate.validate(doc, k8s_version, strict=True)
                print(f"ok    {what}")
            except (
                jsonschema.ValidationError,
                kubernetes_validate.ValidationError,
                kubernetes_validate.SchemaNotFoundError,
                ValueError,
            ) as e:
                failures += 1
                message = getattr(e, "message", None) or str(e)
                print(f"FAIL  {what}: {message}")
    if failures:
        print(f"{failures} manifest(s) failed validation")
        sys.exit(1)


if __name__ == "__main__":
    main()

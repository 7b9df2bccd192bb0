#!/usr/bin/env python3
"""The backend's layers (see ARCHITECTURE.md, "Inside backend: layers"): each folder of
backend/src (and of base/src, which holds the two lowest, re-exported by backend as
`crate::kernel` and `crate::model`) imports only the layers below it. Fails, naming the file, the line and the
layer it reaches up to, when any file does otherwise; `make test` runs it.

It reads `crate::LAYER` paths as text, which is how every import between layers is
written (in `use` lines and in full paths alike). Unit tests (a file's `mod tests`, or
a `tests.rs`) may set up what they need from any layer: a fixture is not a
dependency of the code."""

import pathlib
import re
import sys

# Bottom up: a layer may name only those before it (and itself).
LAYERS = ["kernel", "model", "rules", "store", "notify", "workflow", "services", "ops"]
RANK = {name: rank for rank, name in enumerate(LAYERS)}
PATH = re.compile(r"\bcrate::(" + "|".join(LAYERS) + r")\b")

repo = pathlib.Path(__file__).resolve().parent.parent
roots = [repo / "backend" / "src", repo / "base" / "src"]
home = {}
for root in roots:
    for folder in root.iterdir():
        if not folder.is_dir():
            continue
        if folder.name not in RANK:
            sys.exit(f"layers: {folder.relative_to(repo)}/ is on no layer; add it to {__file__}")
        home[folder.name] = folder
missing = set(LAYERS) - set(home)
if missing:
    sys.exit(f"layers: no folder for the layer {sorted(missing)[0]}")

broken = []
for layer in LAYERS:
    for path in sorted(home[layer].rglob("*.rs")):
        if path.name == "tests.rs":
            continue
        lines = path.read_text().splitlines()
        for number, line in enumerate(lines, 1):
            if line.startswith("mod tests") and lines[number - 2].startswith("#[cfg(test)]"):
                break
            if line.lstrip().startswith("//"):
                continue
            for reached in PATH.findall(line):
                if RANK[reached] > RANK[layer]:
                    broken.append(
                        f"{path.relative_to(repo)}:{number}: {layer} reaches up to"
                        f" {reached}: {line.strip()}"
                    )
if broken:
    print("layers: imports running up a layer:", *broken, sep="\n  ")
    sys.exit(1)
print(f"layers: {' < '.join(LAYERS)}: no import runs up")

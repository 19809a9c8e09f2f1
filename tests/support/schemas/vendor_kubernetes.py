"""Vendor the Kubernetes JSON schemas that tests/unit/test_deploy.py checks deploy/k8s against.

Source: the PyPI package ``kubernetes-validate`` (Apache-2.0), directory
``kubernetes-json-schema/v<version>-local-strict``: strict schemas (``additionalProperties:
false``), one file per kind and a shared ``_definitions.json``. Kept here: the kinds deploy/k8s
uses, only the definitions they reach, without descriptions (they do not validate anything)::

    pip download --no-deps kubernetes-validate==1.37.0 -d /tmp/kv
    python tests/support/schemas/vendor_kubernetes.py \
        /tmp/kv/kubernetes_validate-1.37.0-py3-none-any.whl 1.33.0

A kind deploy/k8s starts to use goes into ``KINDS``; run the command again.
"""

from __future__ import annotations

import json
import sys
import zipfile
from pathlib import Path
from typing import Any

KINDS = (
    "namespace-v1",
    "configmap-v1",
    "secret-v1",
    "serviceaccount-v1",
    "service-v1",
    "deployment-apps-v1",
    "job-batch-v1",
    "poddisruptionbudget-policy-v1",
)
REF_PREFIXES = ("/api/_definitions.json#/$defs/", "#/$defs/")
HERE = Path(__file__).resolve().parent


def strip(node: Any, in_properties: bool = False) -> Any:
    """The schema without ``description`` keywords (a property called description stays)."""
    if isinstance(node, dict):
        return {
            key: strip(value, in_properties=key == "properties" and not in_properties)
            for key, value in node.items()
            if in_properties or key != "description"
        }
    if isinstance(node, list):
        return [strip(item) for item in node]
    return node


def refs(node: Any) -> set[str]:
    """The definitions a schema refers to."""
    if isinstance(node, dict):
        ref = str(node.get("$ref", ""))
        found = {ref.rpartition("/")[2] for prefix in REF_PREFIXES if ref.startswith(prefix)}
        for value in node.values():
            found |= refs(value)
        return found
    if isinstance(node, list):
        return set().union(*(refs(item) for item in node)) if node else set()
    return set()


def vendor(wheel: Path, version: str) -> None:
    base = f"kubernetes_validate/kubernetes-json-schema/v{version}-local-strict/"
    out = HERE / "kubernetes" / f"v{version}"
    out.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(wheel) as archive:
        definitions = json.loads(archive.read(base + "_definitions.json"))
        kinds = {kind: json.loads(archive.read(f"{base}{kind}.json")) for kind in KINDS}
    wanted: set[str] = set()
    todo = set().union(*(refs(schema) for schema in kinds.values()))
    while todo:
        name = todo.pop()
        wanted.add(name)
        todo |= refs(definitions["$defs"][name]) - wanted
    trimmed = dict(definitions)
    trimmed["$defs"] = {name: strip(definitions["$defs"][name]) for name in sorted(wanted)}
    write(out / "_definitions.json", trimmed)
    for kind, schema in kinds.items():
        write(out / f"{kind}.json", strip(schema))
    print(f"{len(kinds)} kinds, {len(wanted)} definitions written to {out}")


def write(path: Path, document: Any) -> None:
    path.write_text(json.dumps(document, indent=1, sort_keys=True) + "\n", encoding="utf-8")


if __name__ == "__main__":
    vendor(Path(sys.argv[1]), sys.argv[2] if len(sys.argv) > 2 else "1.33.0")

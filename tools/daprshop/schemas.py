"""JSON Schemas for kubeconform, made from the specifications themselves, with no download:

- Kubernetes kinds from the OpenAPI document of `k8s.io/kubernetes` (api/openapi-spec/swagger.json
  in the Go module of the pinned Kubernetes version);
- Dapr's kinds (Component, Configuration, Resiliency, ...) from the CRDs in the Helm chart of the
  pinned `github.com/dapr/dapr` module.

Every schema is strict, as kubeconform's `-strict` expects: an object that lists its properties
allows no others, unless the spec says it keeps unknown fields. Files are named the way
kubeconform's schema-location template `{{ .ResourceKind }}{{ .KindSuffix }}.json` looks them
up: `deployment-apps-v1.json`, `service-v1.json`, `component-dapr-v1alpha1.json`.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable
from typing import Any

Schema = dict[str, Any]
REF = re.compile(r"^#/definitions/(.+)$")
# Types the OpenAPI document declares as strings but that YAML writes as numbers too.
NUMBER_OR_STRING = {
    "io.k8s.apimachinery.pkg.util.intstr.IntOrString": {
        "oneOf": [{"type": "string"}, {"type": "integer"}]
    },
    "io.k8s.apimachinery.pkg.api.resource.Quantity": {
        "oneOf": [{"type": "string"}, {"type": "number"}]
    },
}
OBJECT_META = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"


def file_name(api_version: str, kind: str) -> str:
    """kubeconform's `{{ .ResourceKind }}{{ .KindSuffix }}.json` for an apiVersion and kind."""
    group, _, version = api_version.rpartition("/")
    suffix = f"-{group.split('.')[0]}-{version}" if group else f"-{version}"
    return f"{kind.lower()}{suffix}.json".lower()


def strict(node: Any) -> Any:
    """A copy of a schema in which objects with listed properties accept no other keys, and
    the OpenAPI extensions for int-or-string and nullable become plain JSON Schema."""
    if isinstance(node, list):
        return [strict(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: strict(v) for k, v in node.items() if k != "description"}
    if out.pop("x-kubernetes-int-or-string", False):
        out.pop("type", None)
        out["anyOf"] = [{"type": "string"}, {"type": "integer"}]
    if out.pop("nullable", False) and isinstance(out.get("type"), str):
        out["type"] = [out["type"], "null"]
    keeps_unknown = out.get("x-kubernetes-preserve-unknown-fields") is True
    if "properties" in out and "additionalProperties" not in out and not keeps_unknown:
        out["additionalProperties"] = False
    return out


def _refs(node: Any) -> Iterable[str]:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and (m := REF.match(ref)):
            yield m.group(1)
        for value in node.values():
            yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def _closure(root: str, definitions: dict[str, Schema]) -> list[str]:
    seen, todo = {root}, [root]
    while todo:
        for ref in _refs(definitions[todo.pop()]):
            if ref not in seen:
                seen.add(ref)
                todo.append(ref)
    return sorted(seen)


def _definition(name: str, definitions: dict[str, Schema]) -> Schema:
    return copy.deepcopy(NUMBER_OR_STRING.get(name) or strict(definitions[name]))


def kubernetes(swagger: dict[str, Any]) -> dict[str, Schema]:
    """One self-contained strict schema per Kubernetes kind (all the definitions it reaches
    are embedded), keyed by file name."""
    definitions: dict[str, Schema] = swagger["definitions"]
    out: dict[str, Schema] = {}
    for name, definition in definitions.items():
        kinds = definition.get("x-kubernetes-group-version-kind") or []
        if len(kinds) != 1 or "properties" not in definition:
            continue  # list-less helper types and multi-kind options (DeleteOptions, ...)
        gvk = kinds[0]
        api_version = f"{gvk['group']}/{gvk['version']}" if gvk["group"] else gvk["version"]
        schema = _definition(name, definitions)
        schema["properties"]["apiVersion"] = {"enum": [api_version]}
        schema["properties"]["kind"] = {"enum": [gvk["kind"]]}
        schema["definitions"] = {
            ref: _definition(ref, definitions) for ref in _closure(name, definitions)
        }
        out[file_name(api_version, gvk["kind"])] = schema
    return out


def custom_resources(crds: Iterable[dict[str, Any]], swagger: dict[str, Any]) -> dict[str, Schema]:
    """One strict schema per served version of each CustomResourceDefinition; `metadata` is
    checked as Kubernetes' ObjectMeta (a CRD leaves it open)."""
    definitions: dict[str, Schema] = swagger["definitions"]
    meta_defs = {ref: _definition(ref, definitions) for ref in _closure(OBJECT_META, definitions)}
    out: dict[str, Schema] = {}
    for crd in crds:
        if not crd or crd.get("kind") != "CustomResourceDefinition":
            continue
        spec = crd["spec"]
        kind = spec["names"]["kind"]
        for version in spec["versions"]:
            if not version.get("served", True):
                continue
            api_version = f"{spec['group']}/{version['name']}"
            schema = strict(version["schema"]["openAPIV3Schema"])
            schema["properties"]["apiVersion"] = {"enum": [api_version]}
            schema["properties"]["kind"] = {"enum": [kind]}
            schema["properties"]["metadata"] = {"$ref": f"#/definitions/{OBJECT_META}"}
            schema["required"] = sorted({*schema.get("required", []), "apiVersion", "kind"})
            schema["definitions"] = copy.deepcopy(meta_defs)
            out[file_name(api_version, kind)] = schema
    return out

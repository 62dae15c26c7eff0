"""The rules of the Resiliency resource. Dapr says nothing when one is off: it reads only the
keys its types know (the rest is dropped), applies a target only to the app-id or component of
that exact name, and skips a policy name that no policy defines (pkg/resiliency). So every
key must be in Dapr's CRD schema (the pinned Helm chart's), every target must name an app-id of
the topology or a component of components/, every policy a target names must exist, and each
saga participant must have a time-out, retries and a circuit breaker, and no breaker may trip
within one call's own attempts (breaker_trips_within_one_call).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from daprshop.deploytools import Doc
from daprshop.topology import APP_IDS
from daprshop_contracts.saga import PARTICIPANTS

# Each Resiliency file the deployments load: self-hosted, docker compose, Kubernetes' base.
FILES = ("components/resiliency.yaml", "deploy/compose/components/resiliency.yaml")
K8S_BASE = "deploy/k8s/base/dapr.yaml"
POLICY_KINDS = {"timeout": "timeouts", "retry": "retries", "circuitBreaker": "circuitBreakers"}
PARTICIPANT_POLICIES = ("timeout", "retry", "circuitBreaker")


def crd_schema(crds: list[Doc], kind: str = "Resiliency") -> Doc:
    """The openAPIV3Schema of `kind`'s served version in Dapr's CRDs."""
    crd = next(c for c in crds if c and c["spec"]["names"]["kind"] == kind)
    version = next(v for v in crd["spec"]["versions"] if v.get("served", True))
    return dict(version["schema"]["openAPIV3Schema"])


def unknown_keys(node: Any, schema: Doc, at: str) -> list[str]:
    """The keys of `node` that `schema` does not know, as `a.b.c` paths."""
    if not isinstance(node, dict):
        return []
    known = schema.get("properties")
    each = schema.get("additionalProperties")
    out = []
    for key, value in node.items():
        if known is not None and key in known:
            out += unknown_keys(value, known[key], f"{at}.{key}")
        elif isinstance(each, dict):
            out += unknown_keys(value, each, f"{at}.{key}")
        elif known is not None:
            out.append(f"{at}.{key}")
    return out


def _named_policies(where: str, target: str, names: Doc, policies: Doc) -> list[str]:
    out = []
    for field, kind in POLICY_KINDS.items():
        name = names.get(field)
        if name and name not in (policies.get(kind) or {}):
            out.append(f"{where}: {target} names {field} {name!r}: spec.policies.{kind} lacks it")
    return out


def breaker_trips_within_one_call(where: str, target: str, names: Doc, policies: Doc) -> str | None:
    """Dapr retries every invocation error that is not an HTTP answer (pkg/api/http/
    directmessaging.go: only answers go through `matching`), a 403 of the callee's access
    policy among them, and its breaker counts each attempt. A breaker that opens within one
    call's 1 + maxRetries attempts turns a refusal into `circuit breaker is open` (500)."""
    retry = (policies.get("retries") or {}).get(names.get("retry") or "") or {}
    breaker = (policies.get("circuitBreakers") or {}).get(names.get("circuitBreaker") or "") or {}
    trip = re.fullmatch(r"\s*consecutiveFailures\s*>=?\s*(\d+)\s*", str(breaker.get("trip", "")))
    if not retry or not trip:
        return None
    attempts = 1 + int(retry.get("maxRetries", 0))
    threshold = int(trip.group(1)) + (0 if ">=" in str(breaker["trip"]) else 1)
    if threshold > attempts:
        return None
    return (
        f"{where}: {target}'s breaker trips at {threshold} failures, within one call's"
        f" {attempts} attempts: a refused call (403) would answer `circuit breaker is open`"
    )


def resiliency_problems(where: str, doc: Doc, schema: Doc, components: set[str]) -> list[str]:
    """What Dapr would drop or apply to nothing in the Resiliency `doc`, with `components`
    the names of the components the apps load."""
    out = [
        f"{where}: {path} is not a key of Dapr's Resiliency: Dapr drops it without a word"
        for path in unknown_keys(doc, schema, "Resiliency")
    ]
    policies = doc["spec"].get("policies") or {}
    targets = doc["spec"].get("targets") or {}
    apps = targets.get("apps") or {}
    for app, names in apps.items():
        if app not in APP_IDS:
            out.append(f"{where}: targets.apps.{app} names no app-id {list(APP_IDS)}")
        out += _named_policies(where, f"targets.apps.{app}", names, policies)
        tripped = breaker_trips_within_one_call(where, f"targets.apps.{app}", names, policies)
        out += [tripped] if tripped else []
    for name, directions in (targets.get("components") or {}).items():
        if name not in components:
            out.append(
                f"{where}: targets.components.{name} names no component {sorted(components)}"
            )
        for direction, names in directions.items():
            out += _named_policies(where, f"targets.components.{name}.{direction}", names, policies)
    for app in PARTICIPANTS:
        missing = [p for p in PARTICIPANT_POLICIES if not (apps.get(app) or {}).get(p)]
        if missing:
            out.append(f"{where}: participant {app} has no {', '.join(missing)} (targets.apps)")
    out += [f"{where}: scope {s} is no app-id" for s in doc.get("scopes") or [] if s not in APP_IDS]
    return out


def resiliency_docs(repo: Path) -> dict[str, Doc]:
    """Each deployment's Resiliency, keyed by where it is."""
    found = {f: yaml.safe_load((repo / f).read_text()) for f in FILES}
    for d in yaml.safe_load_all((repo / K8S_BASE).read_text()):
        if d and d.get("kind") == "Resiliency":
            found[K8S_BASE] = d
    return found

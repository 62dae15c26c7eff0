"""The wiring of rendered Kubernetes objects to each other, which a schema cannot see and a
cluster only reports as pods at 0/1 or Services with no endpoints: selectors that match the
pods' labels, probes and Services that name ports the containers declare, mounts of declared
volumes, autoscalers and disruption budgets aimed at existing workloads, one namespace; the
Dapr Configuration a pod's sidecar is told to load, the service account it runs as, and the
accounts and roles a RoleBinding joins.
Pure: a list of documents in, problems as sentences out.
"""

from __future__ import annotations

from typing import Any

Doc = dict[str, Any]
WORKLOADS = ("Deployment", "StatefulSet", "DaemonSet")
PROBES = ("readinessProbe", "livenessProbe", "startupProbe")


def _matches(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def _pod(workload: Doc) -> tuple[dict[str, str], Doc]:
    template = workload["spec"]["template"]
    return template["metadata"].get("labels") or {}, template["spec"]


def _workload_problems(d: Doc) -> list[str]:
    at = f"{d['kind']} {d['metadata']['name']}"
    labels, pod = _pod(d)
    problems = []
    if not _matches(d["spec"]["selector"].get("matchLabels") or {}, labels):
        problems.append(f"{at}: spec.selector does not match the pod template's labels")
    volumes = {v["name"] for v in pod.get("volumes", [])}
    for c in pod.get("containers", []):
        names = {p["name"] for p in c.get("ports", []) if "name" in p}
        for probe in PROBES:
            action = (c.get(probe) or {}).get("httpGet") or (c.get(probe) or {}).get("tcpSocket")
            port = (action or {}).get("port")
            if isinstance(port, str) and port not in names:
                problems.append(f"{at}: {c['name']} {probe} uses port {port!r}, not declared")
        if "args" in c and "command" not in c:
            # found on a real cluster (issue #17): args alone replace the image's CMD and run
            # under its ENTRYPOINT, which another build of the image (a stand-in) may not have
            problems.append(
                f"{at}: {c['name']} sets args without command: they then depend on the"
                " image's ENTRYPOINT; name the program in command"
            )
        for mount in c.get("volumeMounts", []):
            if mount["name"] not in volumes:
                problems.append(f"{at}: {c['name']} mounts volume {mount['name']!r}, not declared")
    return problems


def _identity_problems(docs: list[Doc], workloads: list[Doc]) -> list[str]:
    """A Dapr sidecar without its Configuration does not start (the injector's daprd exits);
    a pod whose service account is not there is never created; a RoleBinding to a missing
    Role or account grants nothing."""
    named = {(d["kind"], d["metadata"]["name"]) for d in docs}
    problems = []
    for w in workloads:
        at = f"{w['kind']} {w['metadata']['name']}"
        notes = w["spec"]["template"]["metadata"].get("annotations") or {}
        config = notes.get("dapr.io/config")
        if (
            notes.get("dapr.io/enabled") == "true"
            and config
            and ("Configuration", config) not in named
        ):
            problems.append(f"{at}: dapr.io/config {config!r}: no such Configuration")
        account = _pod(w)[1].get("serviceAccountName")
        if account and ("ServiceAccount", account) not in named:
            problems.append(f"{at}: service account {account!r} is not rendered")
    for b in (d for d in docs if d["kind"] == "RoleBinding"):
        at = f"RoleBinding {b['metadata']['name']}"
        if (b["roleRef"]["kind"], b["roleRef"]["name"]) not in named:
            problems.append(f"{at}: no {b['roleRef']['kind']} {b['roleRef']['name']}")
        for s in b.get("subjects") or []:
            if s["kind"] == "ServiceAccount" and ("ServiceAccount", s["name"]) not in named:
                problems.append(f"{at}: no ServiceAccount {s['name']}")
    return problems


def wiring_problems(docs: list[Doc]) -> list[str]:
    """Where the rendered objects do not connect; an empty list when they all do."""
    workloads = [d for d in docs if d["kind"] in WORKLOADS]
    problems = [p for d in workloads for p in _workload_problems(d)]
    for s in (d for d in docs if d["kind"] == "Service"):
        at = f"Service {s['metadata']['name']}"
        selector = s["spec"].get("selector") or {}
        pods = [pod for labels, pod in map(_pod, workloads) if _matches(selector, labels)]
        if not pods:
            problems.append(f"{at}: selector {selector} matches no pod, so it has no endpoints")
            continue
        declared = [p for pod in pods for c in pod["containers"] for p in c.get("ports", [])]
        for port in s["spec"]["ports"]:
            target = port.get("targetPort", port["port"])
            if target not in [p.get("name") for p in declared] + [
                p["containerPort"] for p in declared
            ]:
                problems.append(f"{at}: targetPort {target!r} is no port of its pods")
    names = {(d["kind"], d["metadata"]["name"]) for d in workloads}
    for hpa in (d for d in docs if d["kind"] == "HorizontalPodAutoscaler"):
        ref = hpa["spec"]["scaleTargetRef"]
        if (ref["kind"], ref["name"]) not in names:
            problems.append(
                f"HorizontalPodAutoscaler {hpa['metadata']['name']}: no {ref['kind']} {ref['name']}"
            )
    for pdb in (d for d in docs if d["kind"] == "PodDisruptionBudget"):
        selector = pdb["spec"]["selector"].get("matchLabels") or {}
        if not any(_matches(selector, _pod(w)[0]) for w in workloads):
            problems.append(f"PodDisruptionBudget {pdb['metadata']['name']}: matches no pod")
    problems += _identity_problems(docs, workloads)
    namespaces = {d["metadata"]["name"] for d in docs if d["kind"] == "Namespace"}
    for d in docs:
        ns = d["metadata"].get("namespace")
        if d["kind"] != "Namespace" and ns not in namespaces:
            problems.append(
                f"{d['kind']} {d['metadata']['name']}: namespace {ns!r} is not rendered"
            )
    return problems

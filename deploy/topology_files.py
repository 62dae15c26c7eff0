"""Renders the files that list daprshop's app-ids from the topology (tools/daprshop/topology.py:
orders and the saga's participants) and the hand-written templates in deploy/templates/, so
adding a participant to the saga needs no YAML edit: the Dapr components (a store per app, the
scopes, the resiliency targets), dapr.yaml, and the production overlay's per-service objects.
`$name` in a template is filled here; a template whose per-app part is repeated keeps its
leading comment once.
"""

from __future__ import annotations

from pathlib import Path
from string import Template

from daprshop import topology

TEMPLATES = Path(__file__).resolve().parent / "templates"


def _template(name: str) -> Template:
    return Template((TEMPLATES / name).read_text())


def _per_app(name: str, apps: tuple[str, ...], **fields: dict[str, str]) -> str:
    """The template's leading comment, then its body once per app, as YAML documents;
    `fields` maps a placeholder to its value per app (default: empty)."""
    lines = (TEMPLATES / name).read_text().splitlines(keepends=True)
    n = next(i for i, line in enumerate(lines) if not line.startswith("#"))
    body = Template("".join(lines[n:]))
    docs = [
        body.substitute(app=app, **{k: v.get(app, "") for k, v in fields.items()}) for app in apps
    ]
    return "".join(lines[:n]) + "---\n".join(docs)


def components() -> dict[str, str]:
    """components/<name>: the pub/sub, the resiliency policy and a state store per app."""
    apps = topology.APP_IDS
    scopes = ", ".join(apps)
    targets = "\n".join(
        f"      {app}: {{timeout: invoke, retry: invokeRetry, circuitBreaker: participant}}"
        for app in topology.PARTICIPANTS
    )
    actor_state = '    - name: actorStateStore\n      value: "true"\n'
    return {
        "pubsub.yaml": _template("pubsub.yaml").substitute(scopes=scopes),
        "resiliency.yaml": _template("resiliency.yaml").substitute(
            scopes=scopes, participants=targets
        ),
        "statestore.yaml": _per_app(
            "statestore.yaml", apps, actor_state={topology.WORKFLOW_HOST: actor_state}
        ),
    }


def dapr_run_file(ports: dict[str, topology.AppPorts]) -> str:
    """dapr.yaml: `make run`'s topology for `dapr run -f dapr.yaml`."""
    entries = [
        f"""  - appID: {app}
    appDirPath: .
    appPort: {p.app}
    daprHTTPPort: {p.http}
    daprGRPCPort: {p.grpc}
    daprInternalGRPCPort: {p.internal}
    metricsPort: {p.metrics}
    appProtocol: http
    command: [".venv/bin/python", "-m", "uvicorn", "{app}.main:create_app", "--factory",
              "--host", "127.0.0.1", "--port", "{p.app}"]"""
        for app, p in ports.items()
    ]
    return _template("dapr.yaml").substitute(apps="\n".join(entries))


def production_overlay() -> dict[str, str]:
    """overlays/production: its kustomization (an image per service) and availability.yaml
    (a PodDisruptionBudget and a HorizontalPodAutoscaler per service)."""
    images = "\n".join(
        f"  - {{name: daprshop/{app}, newName: registry.example.com/daprshop/{app}}}"
        for app in topology.APP_IDS
    )
    return {
        "kustomization.yaml": _template("production-kustomization.yaml").substitute(images=images),
        "availability.yaml": _per_app("availability.yaml", topology.APP_IDS),
    }

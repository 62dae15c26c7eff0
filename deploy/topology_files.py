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

import yaml

from daprshop import launch, security, topology

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
    stores = "\n".join(
        f"      {app}-store:\n        outbound: {{timeout: store, retry: storeRetry}}"
        for app in apps
    )
    actor_state = '    - name: actorStateStore\n      value: "true"\n'
    topic_scopes = security.pubsub_scopes()
    return {
        "pubsub.yaml": _template("pubsub.yaml").substitute(
            scopes=scopes,
            publishing=topic_scopes["publishingScopes"],
            subscription=topic_scopes["subscriptionScopes"],
        ),
        "secretstore.yaml": _template("secretstore.yaml").substitute(scopes=scopes),
        "resiliency.yaml": _template("resiliency.yaml").substitute(
            scopes=scopes, participants=targets, stores=stores
        ),
        "statestore.yaml": _per_app(
            "statestore.yaml", apps, actor_state={topology.WORKFLOW_HOST: actor_state}
        ),
    }


def configuration(base: str, app: str, namespace: str) -> str:
    """One app's sidecar Configuration: `base` (tracing, name resolution) plus who may invoke
    it and which secrets it may read, both derived from the saga (daprshop.security)."""
    policy = {
        "accessControl": security.access_control(app, namespace),
        "secrets": {"scopes": security.secret_scopes()},
    }
    body = yaml.safe_dump(policy, sort_keys=False, default_flow_style=None, width=96)
    base = base.replace("  name: daprshop\n", f"  name: daprshop-{app}\n", 1)
    comment = (
        "  # Deny by default: only orders may invoke a participant, and only its saga\n"
        "  # commands; only the edge may invoke orders, and only its public order API.\n"
        "  # Apps read only the admin token as a secret.\n"
    )
    return base.rstrip("\n") + "\n" + comment + "".join(f"  {ln}\n" for ln in body.splitlines())


def configurations() -> dict[str, str]:
    """components/configuration/<app>.yaml from the hand-written daprshop.yaml."""
    base = Path(__file__).resolve().parents[1] / "components" / "configuration" / "daprshop.yaml"
    text = base.read_text()
    return {
        f"{app}.yaml": configuration(text, app, security.SELF_HOSTED_NAMESPACE)
        for app in topology.APP_IDS
    }


def _run_command(app: str, port: int) -> str:
    """An app's command in dapr.yaml: uvicorn from the venv, or the binary `make setup`
    builds (daprshop.launch), told its address by the environment."""
    how = launch.program(app)
    if isinstance(how, launch.GoApp):
        binary = how.binary(Path(launch.SETUP_BIN))
        env = {**how.env(), "APP_PORT": str(port)}
        lines = "".join(f'      {k}: "{v}"\n' for k, v in env.items())
        return f'    command: ["./{binary}"]\n    env:\n{lines}'.rstrip("\n")
    return f"""    command: [".venv/bin/python", "-m", "uvicorn", "{how.factory}", "--factory",
              "--host", "127.0.0.1", "--port", "{port}"]"""


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
    configFilePath: ./components/configuration/{app}.yaml
{_run_command(app, p.app)}"""
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

"""The consistency rules of the deployments: where docker compose, a rendered overlay, a
service Dockerfile or the README disagrees with the self-hosted sources (components/,
dapr.yaml, the launcher's topology, tools/dapr/VERSION, the services' settings and topic plan).
Each rule returns the problems it finds, as sentences naming the place; none means agreement.
"""

from __future__ import annotations

import re
import subprocess
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import yaml

from daprshop.deploytools import CheckFailed, Doc
from daprshop.runtime import REPO, pinned_version
from daprshop.topology import APP_IDS, Topology

# Overlays whose Secret for Redis is created by the operator, not rendered.
EXTERNAL_SECRETS = ("production",)


@dataclass(frozen=True)
class Expected:
    """What every way of running must agree on, read from the self-hosted sources."""

    ports: dict[str, int]  # app-id -> app port
    components: dict[str, tuple[str, tuple[str, ...]]]  # name -> (type, scopes)
    topics: dict[str, str]  # state store -> outbox topic
    dapr_version: str
    configuration: str
    image_tag: str  # the project's version: the tag of every daprshop image

    @classmethod
    def self_hosted(cls, repo: Path = REPO) -> Expected:
        topo = Topology.defaults(env={})
        docs = [
            d
            for f in sorted((repo / "components").glob("*.yaml"))
            for d in yaml.safe_load_all(f.read_text())
        ]
        run_file = yaml.safe_load((repo / "dapr.yaml").read_text())
        ports = {a["appID"]: a["appPort"] for a in run_file["apps"]}
        if ports != {app: topo.apps[app].app for app in APP_IDS}:
            raise CheckFailed(f"dapr.yaml {ports} disagrees with the launcher's topology")
        config = yaml.safe_load((repo / "components/configuration/daprshop.yaml").read_text())
        return cls(
            ports=ports,
            components=_components(docs),
            topics=_topics(docs),
            dapr_version=(repo / "tools/dapr/VERSION").read_text().strip(),
            configuration=config["metadata"]["name"],
            image_tag=tomllib.loads((repo / "pyproject.toml").read_text())["project"]["version"],
        )


def _components(docs: Iterable[Doc]) -> dict[str, tuple[str, tuple[str, ...]]]:
    return {
        d["metadata"]["name"]: (d["spec"]["type"], tuple(sorted(d.get("scopes") or ())))
        for d in docs
        if d and d.get("kind") == "Component"
    }


def _topics(docs: Iterable[Doc]) -> dict[str, str]:
    out = {}
    for d in docs:
        if d and d.get("kind") == "Component":
            meta = {m["name"]: m.get("value") for m in d["spec"].get("metadata", [])}
            if "outboxPublishTopic" in meta:
                out[d["metadata"]["name"]] = meta["outboxPublishTopic"]
    return out


def _flag(command: list[str], name: str) -> str | None:
    for i, arg in enumerate(command):
        if arg == f"--{name}" and i + 1 < len(command):
            return command[i + 1]
        if arg.startswith(f"--{name}="):
            return arg.split("=", 1)[1]
    return None


def _tag(image: str) -> str:
    return image.rsplit(":", 1)[1] if ":" in image.rsplit("/", 1)[-1] else "latest"


def code_problems(expected: Expected) -> list[str]:
    """Where the services' code names other components or topics than components/ holds."""
    from pydantic import SecretStr

    from daprshop_contracts.topics import topic_of
    from daprshop_platform.settings import ServiceSettings

    problems = []
    for app in APP_IDS:
        # Only the component names are read; the settings refuse to exist without a token.
        settings = ServiceSettings(app_id=app, app_api_token=SecretStr("not read"))
        pubsub = expected.components.get(settings.pubsub_name)
        if pubsub is None or not pubsub[0].startswith("pubsub.") or app not in pubsub[1]:
            problems.append(f"{app} publishes to {settings.pubsub_name!r}: no such pub/sub for it")
        store = expected.components.get(settings.statestore_name)
        if store is None or not store[0].startswith("state.") or store[1] != (app,):
            problems.append(f"{app} keeps state in {settings.statestore_name!r}: no store for it")
        topic = expected.topics.get(settings.statestore_name)
        if topic != topic_of(app):
            problems.append(
                f"{app}'s outbox publishes to {topic!r}, its topic is {topic_of(app)!r}"
            )
    return problems


def compose_problems(model: Doc, expected: Expected) -> list[str]:
    """Where the resolved compose model disagrees with self-hosted."""
    problems: list[str] = []
    services: dict[str, Doc] = model.get("services", {})
    for name in ("placement", "scheduler"):
        image = services.get(name, {}).get("image", "")
        if image != f"daprio/dapr:{expected.dapr_version}":
            problems.append(
                f"compose {name}: image {image!r}, want daprio/dapr:{expected.dapr_version}"
            )
    sidecars = {
        _flag(s.get("command") or [], "app-id"): (name, s)
        for name, s in services.items()
        if (s.get("image") or "").startswith("daprio/daprd")
    }
    if set(sidecars) != set(expected.ports):
        problems.append(
            f"compose sidecar app-ids {sorted(map(str, sidecars))}, want {sorted(expected.ports)}"
        )
    for app_id, (name, sidecar) in sidecars.items():
        if app_id not in expected.ports:
            continue
        cmd = sidecar.get("command") or []
        where = f"compose {name} (app-id {app_id})"
        if _tag(sidecar["image"]) != expected.dapr_version:
            problems.append(
                f"{where}: image {sidecar['image']!r}, want daprio/daprd:{expected.dapr_version}"
            )
        if _flag(cmd, "app-port") != str(expected.ports[app_id]):
            problems.append(
                f"{where}: --app-port {_flag(cmd, 'app-port')}, want {expected.ports[app_id]}"
            )
        if sidecar.get("network_mode") != f"service:{app_id}":
            problems.append(
                f"{where}: network_mode {sidecar.get('network_mode')!r}, want service:{app_id}"
            )
        app = services.get(app_id, {})
        env = app.get("environment") or {}
        if env.get("APP_PORT") != str(expected.ports[app_id]):
            problems.append(
                f"compose {app_id}: APP_PORT {env.get('APP_PORT')}, want {expected.ports[app_id]}"
            )
        for var, flag in (
            ("DAPR_HTTP_PORT", "dapr-http-port"),
            ("DAPR_GRPC_PORT", "dapr-grpc-port"),
        ):
            if env.get(var) != _flag(cmd, flag):
                problems.append(
                    f"compose {app_id}: {var} {env.get(var)}"
                    f" but its sidecar's --{flag} is {_flag(cmd, flag)}"
                )
        mounts = {v.get("target"): v.get("source") for v in sidecar.get("volumes") or []}
        source = mounts.get(_flag(cmd, "resources-path"))
        if source is None:
            problems.append(f"{where}: nothing mounted at --resources-path")
            continue
        docs = [
            d
            for f in sorted(Path(source).glob("*.yaml"))
            for d in yaml.safe_load_all(f.read_text())
        ]
        problems += _resource_problems(f"compose ({source})", docs, expected)
    problems += image_problems("compose", [s.get("image", "") for s in services.values()], expected)
    commands = {n: s.get("command") or [] for n, s in services.items()}
    problems += locust_problems("compose", commands, expected)
    return problems


def flag_problems(model: Doc, dapr_bin: Path) -> list[str]:
    """Every flag a compose service passes to daprd, placement or scheduler exists in the
    pinned binaries (their `--help`), so a misspelt or removed flag is found before a run."""
    known: dict[str, set[str]] = {}
    problems = []
    for name, service in model.get("services", {}).items():
        command = service.get("command") or []
        binary = command[0].removeprefix("./") if command else ""
        if binary not in ("daprd", "placement", "scheduler"):
            continue
        if binary not in known:
            out = subprocess.run([str(dapr_bin / binary), "--help"], capture_output=True, text=True)
            known[binary] = set(re.findall(r"(?m)^\s+--([a-z0-9-]+)", out.stdout + out.stderr))
        for arg in command[1:]:
            flag = arg.split("=", 1)[0].removeprefix("--")
            if arg.startswith("--") and flag not in known[binary]:
                problems.append(f"compose {name}: {binary} {pinned_version()} has no flag --{flag}")
    return problems


def image_problems(where: str, images: Iterable[str], expected: Expected) -> list[str]:
    """daprshop's own images carry the project's version, so one build serves every way."""
    return [
        f"{where}: image {image!r}, want tag {expected.image_tag}"
        for image in images
        if re.search(r"(^|/)daprshop/[\w-]+(:|$)", image) and _tag(image) != expected.image_tag
    ]


def locust_problems(where: str, commands: dict[str, list[str]], expected: Expected) -> list[str]:
    """A locust master's --host is orders at its app port (the same Service name everywhere)."""
    want = f"http://orders:{expected.ports['orders']}"
    return [
        f"{where} {name}: locust --host {_flag(cmd, 'host')!r}, want {want}"
        for name, cmd in commands.items()
        if "--master" in cmd and _flag(cmd, "host") != want
    ]


def _resource_problems(where: str, docs: list[Doc], expected: Expected) -> list[str]:
    problems = []
    found = _components(docs)
    if found != expected.components:
        problems.append(f"{where}: components {found}, want {expected.components}")
    topics = _topics(docs)
    if topics != expected.topics:
        problems.append(f"{where}: outbox topics {topics}, want {expected.topics}")
    return problems


def overlay_problems(name: str, docs: list[Doc], expected: Expected) -> list[str]:
    """Where a rendered overlay disagrees with self-hosted."""
    where = f"overlay {name}"
    problems = _resource_problems(where, docs, expected)
    by_kind: dict[str, list[Doc]] = {}
    for d in docs:
        by_kind.setdefault(d["kind"], []).append(d)
    configs = {d["metadata"]["name"] for d in by_kind.get("Configuration", [])}
    if expected.configuration not in configs:
        problems.append(f"{where}: no Dapr Configuration {expected.configuration!r}")
    apps: dict[str, Doc] = {}
    for d in by_kind.get("Deployment", []):
        notes = d["spec"]["template"]["metadata"].get("annotations") or {}
        if notes.get("dapr.io/enabled") == "true":
            apps[notes.get("dapr.io/app-id", "?")] = d
    if set(apps) != set(expected.ports):
        problems.append(f"{where}: Dapr app-ids {sorted(apps)}, want {sorted(expected.ports)}")
    services = {s["metadata"]["name"]: s for s in by_kind.get("Service", [])}
    for app_id, d in apps.items():
        if app_id not in expected.ports:
            continue
        port = expected.ports[app_id]
        notes = d["spec"]["template"]["metadata"]["annotations"]
        at = f"{where} Deployment {d['metadata']['name']} (app-id {app_id})"
        if notes.get("dapr.io/app-port") != str(port):
            problems.append(f"{at}: dapr.io/app-port {notes.get('dapr.io/app-port')}, want {port}")
        if notes.get("dapr.io/config") != expected.configuration:
            problems.append(
                f"{at}: dapr.io/config {notes.get('dapr.io/config')!r},"
                f" want {expected.configuration!r}"
            )
        sidecar = notes.get("dapr.io/sidecar-image", "")
        if sidecar != f"daprio/daprd:{expected.dapr_version}":
            problems.append(
                f"{at}: dapr.io/sidecar-image {sidecar!r},"
                f" want daprio/daprd:{expected.dapr_version}"
            )
        container = d["spec"]["template"]["spec"]["containers"][0]
        if port not in [p.get("containerPort") for p in container.get("ports", [])]:
            problems.append(f"{at}: container does not expose {port}")
        env = {e["name"]: e.get("value") for e in container.get("env", [])}
        if env.get("APP_PORT") != str(port):
            problems.append(f"{at}: APP_PORT {env.get('APP_PORT')}, want {port}")
        service = services.get(app_id)
        if service is None or port not in [p.get("port") for p in service["spec"]["ports"]]:
            problems.append(f"{where}: no Service {app_id} on port {port}")
    containers = {
        f"{d['metadata']['name']}/{c['name']}": c
        for d in by_kind.get("Deployment", [])
        for c in d["spec"]["template"]["spec"]["containers"]
    }
    problems += image_problems(where, [c["image"] for c in containers.values()], expected)
    commands = {n: [*c.get("command", []), *c.get("args", [])] for n, c in containers.items()}
    problems += locust_problems(where, commands, expected)
    secrets = {s["metadata"]["name"]: s for s in by_kind.get("Secret", [])}
    for c in by_kind.get("Component", []):
        for m in c["spec"].get("metadata", []):
            ref = m.get("secretKeyRef")
            if ref and name.split("+")[0] not in EXTERNAL_SECRETS:
                secret = secrets.get(ref["name"])
                keys = {**(secret or {}).get("data", {}), **(secret or {}).get("stringData", {})}
                if ref["key"] not in keys:
                    problems.append(
                        f"{where}: Component {c['metadata']['name']} reads secret"
                        f" {ref['name']}/{ref['key']}, which is not rendered"
                    )
    return problems


BUILD_TOOLS = re.compile(r"\b(gcc|g\+\+|build-essential|make|git|curl|wget)\b")
Instruction = tuple[str, str]


def dockerfile_stages(text: str) -> list[list[Instruction]]:
    """A Dockerfile's stages, each a list of (INSTRUCTION, arguments) that starts with its
    FROM; continuation lines joined, comments dropped (an ARG before the first FROM too)."""
    stages: list[list[Instruction]] = []
    for line in re.sub(r"\\\n", " ", text).splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        word, _, rest = line.strip().partition(" ")
        if word.upper() == "FROM":
            stages.append([])
        if stages:
            stages[-1].append((word.upper(), rest.strip()))
    return stages


def service_dockerfile_problems(name: str, text: str, python: str = "3.11") -> list[str]:
    """The rules of a service image that hadolint does not know: multi-stage from a pinned
    slim Python of the project's version, dependencies from the lock, a numeric non-root
    user, a HEALTHCHECK, no build tools at run time."""
    problems = []
    stages = dockerfile_stages(text)
    if len(stages) < 2:
        problems.append(f"{name}: one stage; want a build stage and a runtime stage")
    for base in (stage[0][1].split()[0] for stage in stages):
        if not re.fullmatch(rf"python:{re.escape(python)}\.\d+-slim(-\w+)?", base):
            problems.append(f"{name}: base {base!r}, want a pinned python:{python}.<patch>-slim")
    if "requirements.lock" not in text:
        problems.append(f"{name}: dependencies not installed from requirements.lock")
    final = stages[-1] if stages else []
    user = [args for word, args in final if word == "USER"]
    if not user or not user[-1].split(":")[0].isdigit() or user[-1].split(":")[0] == "0":
        problems.append(f"{name}: the final stage must run as a numeric non-root USER")
    if "HEALTHCHECK" not in (word for word, _ in final):
        problems.append(f"{name}: no HEALTHCHECK")
    if "RUN" in (word for word, _ in final) and BUILD_TOOLS.search(" ".join(a for _, a in final)):
        problems.append(f"{name}: build tools in the final stage")
    return problems


def image_contents_problems(name: str, text: str, packages: list[str]) -> list[str]:
    """A service image holds the locked third-party dependencies and only the local packages
    it needs (`packages`: packages.image_packages): its build stage copies nothing else (no
    tools/, loadtests/ or other service) and installs exactly those, with --no-deps so that
    nothing is resolved past the lock."""
    build = dockerfile_stages(text)[0] if text.strip() else []
    copied = [args.split()[0] for word, args in build if word == "COPY"]
    problems = []
    if extra := [c for c in copied if c not in (*packages, "requirements.lock")]:
        problems.append(
            f"{name}: copies {', '.join(extra)}; the image needs only requirements.lock and "
            + ", ".join(packages)
        )
    if missing := [p for p in packages if p not in copied]:
        problems.append(f"{name}: does not copy {', '.join(missing)}")
    installed = []
    for command in (c for word, args in build if word == "RUN" for c in args.split("&&")):
        words = command.split()
        if "install" not in words or "-r" in words:
            continue
        targets = [w for w in words[words.index("install") + 1 :] if not w.startswith("-")]
        if "--no-deps" not in words:
            problems.append(f"{name}: `{command.strip()}` resolves dependencies past the lock")
        installed += [w.removeprefix("./").rstrip("/") for w in targets]
    if sorted(installed) != sorted(packages):
        problems.append(f"{name}: installs {installed}, want {packages}")
    return problems


def readme_problems(readme: str, expected: Expected) -> list[str]:
    versions = re.findall(r"helm upgrade --install dapr dapr/dapr --version (\S+)", readme)
    if not versions:
        return ["README: no `helm upgrade --install dapr dapr/dapr --version <pinned>` command"]
    return [
        f"README: installs the Dapr control plane {v}, want {expected.dapr_version}"
        for v in versions
        if v != expected.dapr_version
    ]

"""The consistency rules of the deployments: where docker compose, a rendered overlay, a
service Dockerfile or the README disagrees with the self-hosted sources (components/,
dapr.yaml, the launcher's topology, tools/dapr/VERSION, the services' settings and topic plan),
and where a deployment drops a security control make run has: a sidecar without its API
tokens, an access policy that is not make run's (or allows by default), a pub/sub without
topic scopes, a secret committed instead of made in the cluster (deploy/k8s/make-secrets.sh).
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

from daprshop import launch, security
from daprshop.deploytools import CheckFailed, Doc
from daprshop.runtime import REPO, pinned_version
from daprshop.topology import APP_IDS, Topology

K8S_SECRET_STORE = security.KUBERNETES_SECRET_STORE
SECRETS_SCRIPT = "deploy/k8s/make-secrets.sh"
# The injector's token annotations, each read from the Secret's key `token`, and the variable
# it sets in the sidecar, which the app needs too (it checks, resp. sends, the same value).
TOKEN_ANNOTATIONS = {
    "dapr.io/api-token-secret": "DAPR_API_TOKEN",
    "dapr.io/app-token-secret": "APP_API_TOKEN",
}
TOKEN_KEY = "token"
SCOPES = ("publishingScopes", "subscriptionScopes")
TopicScopes = dict[str, tuple[str, ...]]  # app-id -> topics
DAPR_BINARIES = ("daprd", "placement", "scheduler")
# compose's image of Dapr's binaries (deploy/dapr): tagged with Dapr's version, not the project's.
DAPR_LOCAL_IMAGE = "daprshop/dapr"
DAPR_REPOSITORIES = (DAPR_LOCAL_IMAGE, "daprio/dapr", "daprio/daprd")


@dataclass(frozen=True)
class Expected:
    """What every way of running must agree on, read from the self-hosted sources."""

    ports: dict[str, int]  # app-id -> app port
    components: dict[str, tuple[str, tuple[str, ...]]]  # name -> (type, scopes)
    topics: dict[str, str]  # state store -> outbox topic
    dapr_version: str
    configurations: dict[str, Doc]  # app-id -> its sidecar's Configuration under make run
    topic_scopes: dict[str, TopicScopes]  # publishingScopes / subscriptionScopes of the pub/sub
    image_tag: str  # the project's version: the tag of every daprshop image
    k8s_secrets: dict[str, frozenset[str]]  # Secret -> keys, made in the cluster (SECRETS_SCRIPT)

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
        configs = {
            a["appID"]: yaml.safe_load((repo / a["configFilePath"]).read_text())
            for a in run_file["apps"]
        }
        pubsub = [d for d in docs if d and d.get("kind") == "Component" and _type(d, "pubsub.")]
        return cls(
            ports=ports,
            components=_components(docs),
            topics=_topics(docs),
            dapr_version=(repo / "tools/dapr/VERSION").read_text().strip(),
            configurations=configs,
            topic_scopes={k: parse_scopes(str(_meta(pubsub[0]).get(k) or "")) for k in SCOPES},
            image_tag=tomllib.loads((repo / "pyproject.toml").read_text())["project"]["version"],
            k8s_secrets=script_secrets((repo / SECRETS_SCRIPT).read_text()),
        )


def parse_scopes(value: str) -> TopicScopes:
    """Dapr's scope syntax `app1=t1,t2;app2=t3` (security.scope_string) as a mapping."""
    pairs = (part.partition("=") for part in value.split(";") if part)
    return {app: tuple(t for t in topics.split(",") if t) for app, _, topics in pairs}


def script_secrets(script: str) -> dict[str, frozenset[str]]:
    """The Secrets make-secrets.sh makes, with their keys: its `put NAME KEY VALUE
    [--from-literal=KEY=...]` lines."""
    made = {}
    for line in script.replace("\\\n", " ").splitlines():
        words = line.split()
        if len(words) > 2 and words[0] == "put":
            literals = re.findall(r"--from-literal=([\w.-]+)=", line)
            made[words[1]] = frozenset({words[2], *literals})
    return made


def _meta(component: Doc) -> dict[str, object]:
    return {m["name"]: m.get("value") for m in component["spec"].get("metadata") or []}


def _type(doc: Doc, prefix: str) -> bool:
    return str(doc.get("spec", {}).get("type", "")).startswith(prefix)


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


def pod(app_id: str) -> str:
    """The compose service that holds an app's network namespace, its port and its DNS name;
    the app and its sidecar join it (network_mode service:<pod>), as in a Kubernetes pod."""
    return f"{app_id}-pod"


def _binary(service: Doc) -> str:
    command = service.get("command") or []
    return str(command[0]).removeprefix("./") if command else ""


def _dapr_image_problems(services: dict[str, Doc], expected: Expected) -> list[str]:
    """placement, the scheduler, the sidecars and the pods run compose's Dapr image (daprio/dapr
    plus busybox, for their healthchecks) tagged with the pinned version, built FROM the
    pinned daprio/dapr by default (the DAPR_IMAGE build arg)."""
    want = f"{DAPR_LOCAL_IMAGE}:{expected.dapr_version}"
    base = f"daprio/dapr:{expected.dapr_version}"
    problems = []
    for name, service in services.items():
        image = service.get("image") or ""
        repository = image.rsplit(":", 1)[0] if ":" in image.rsplit("/", 1)[-1] else image
        dapr = _binary(service) in DAPR_BINARIES or repository in DAPR_REPOSITORIES
        if (dapr or name in map(pod, expected.ports)) and image != want:
            problems.append(f"compose {name}: image {image!r}, want {want}")
        if service.get("build") and repository == DAPR_LOCAL_IMAGE:
            arg = (service["build"].get("args") or {}).get("DAPR_IMAGE")
            if arg != base:
                problems.append(f"compose {name}: build arg DAPR_IMAGE {arg!r}, want {base}")
    if not any(s.get("build") and s.get("image") == want for s in services.values()):
        problems.append(f"compose: no service builds {want} (deploy/dapr)")
    return problems


def _pod_problems(services: dict[str, Doc], app_id: str, sidecar: str) -> list[str]:
    """The app and its sidecar share their pod's network namespace (the sidecar reaches the
    app, and the app its sidecar, at 127.0.0.1), and the pod answers to the app's name."""
    holder = pod(app_id)
    if holder not in services:
        return [f"compose: no {holder} holding {app_id}'s network namespace"]
    problems = [
        f"compose {name}: network_mode {mode!r}, want service:{holder}"
        for name in (app_id, sidecar)
        for mode in [services.get(name, {}).get("network_mode")]
        if mode != f"service:{holder}"
    ]
    networks = services[holder].get("networks") or {}
    if not any(app_id in ((n or {}).get("aliases") or []) for n in networks.values()):
        problems.append(f"compose {holder}: no network alias {app_id}; the name reaches no app")
    return problems


def compose_problems(model: Doc, expected: Expected) -> list[str]:
    """Where the resolved compose model disagrees with self-hosted, or an app and its sidecar
    leave their pod, or a Dapr image is off the pinned version."""
    services: dict[str, Doc] = model.get("services", {})
    problems = _dapr_image_problems(services, expected)
    sidecars = {
        _flag(s.get("command") or [], "app-id"): (name, s)
        for name, s in services.items()
        if _binary(s) == "daprd"
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
        if _flag(cmd, "app-port") != str(expected.ports[app_id]):
            problems.append(
                f"{where}: --app-port {_flag(cmd, 'app-port')}, want {expected.ports[app_id]}"
            )
        problems += _pod_problems(services, app_id, name)
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
        store = env.get("DAPRSHOP_SECRET_STORE") or security.SECRET_STORE
        problems += _resource_problems(f"compose ({source})", docs, expected, store)
        problems += _compose_secret_problems(where, app_id, services, mounts, docs, store)
        config = mounts.get(_flag(cmd, "config"))
        if config is None:
            problems.append(f"{where}: nothing mounted at --config")
            continue
        mtls = "--enable-mtls" in cmd
        doc = yaml.safe_load(Path(config).read_text())
        problems += _config_problems(
            f"{where} --config {config}", doc, app_id, expected, store, mtls
        )
    env_files = [f for name in sidecars for f in _env_files(services.get(str(name), {}))]
    for shared in sorted({f for f in env_files if env_files.count(f) > 1}):
        problems.append(f"compose: apps share the tokens of {shared}; want one pair per app")
    redis = services.get("redis", {})
    if "--requirepass" not in " ".join(redis.get("command") or []):
        problems.append("compose redis: no --requirepass; Redis must require the password")
    problems += image_problems("compose", [s.get("image", "") for s in services.values()], expected)
    commands = {n: s.get("command") or [] for n, s in services.items()}
    problems += locust_problems("compose", commands, expected)
    return problems


def _env_files(service: Doc) -> list[str]:
    return [e["path"] for e in service.get("env_file") or []]


def _compose_secret_problems(
    where: str,
    app_id: str,
    services: dict[str, Doc],
    mounts: dict[str, str],
    docs: list[Doc],
    store: str,
) -> list[str]:
    """An app and its sidecar read the same tokens (one env file, made at run time under .run/
    and required), and the sidecar has the secret store's file where the component reads it."""
    problems = []
    app, sidecar = services.get(app_id, {}), services.get(f"{app_id}-daprd", {})
    files = [e for e in sidecar.get("env_file") or [] if e.get("required") is not False]
    if len(files) != 1 or ".run" not in Path(files[0]["path"]).parts:
        problems.append(f"{where}: want one required env file under .run/ with its tokens")
    elif _env_files(app) != [files[0]["path"]]:
        problems.append(
            f"compose {app_id}: env files {_env_files(app)}, want its sidecar's {files[0]['path']}"
            " (DAPR_API_TOKEN and APP_API_TOKEN must be the sidecar's)"
        )
    stores = [
        d for d in docs if d and d.get("kind") == "Component" and d["metadata"]["name"] == store
    ]
    if not stores:
        problems.append(f"{where}: no secret store {store!r}, which its app reads")
    for d in stores:
        path = str(_meta(d).get("secretsFile") or "")
        if _type(d, "secretstores.local.file") and ".run" not in Path(mounts.get(path, "")).parts:
            problems.append(
                f"{where}: {store}'s secretsFile {path!r} is not a file of .run/ mounted there"
            )
    return problems


def _config_problems(
    where: str, config: Doc, app_id: str, expected: Expected, store: str, mtls: bool
) -> list[str]:
    """An app's sidecar Configuration: make run's name, access policy (in this namespace;
    none without mTLS, where Dapr would deny every call) and secret scopes (for `store`)."""
    problems = []
    want = expected.configurations[app_id]
    if config["metadata"]["name"] != want["metadata"]["name"]:
        problems.append(
            f"{where}: named {config['metadata']['name']!r}, want {want['metadata']['name']!r}"
        )
    spec, want_spec = config.get("spec") or {}, want["spec"]
    access = spec.get("accessControl")
    if not mtls:
        if access is not None:
            problems.append(
                f"{where}: accessControl without mTLS: Dapr would deny every call it names"
            )
    elif access is None:
        problems.append(f"{where}: no accessControl; any app could invoke {app_id}")
    elif access.get("defaultAction") != "deny":
        problems.append(
            f"{where}: accessControl defaultAction {access.get('defaultAction')!r}, want deny"
        )
    elif access != _in_namespace(want_spec["accessControl"], config["metadata"].get("namespace")):
        problems.append(f"{where}: accessControl is not make run's (security.access_control)")
    scopes = [{**scope, "storeName": store} for scope in want_spec["secrets"]["scopes"]]
    if (spec.get("secrets") or {}).get("scopes") != scopes:
        problems.append(
            f"{where}: secret scopes {(spec.get('secrets') or {}).get('scopes')}, want {scopes}"
        )
    return problems


def _in_namespace(access_control: Doc, namespace: str | None) -> Doc:
    """make run's policy for sidecars of `namespace` (a caller's SPIFFE ID names its own)."""
    if namespace is None:
        return access_control
    policies = [{**p, "namespace": namespace} for p in access_control.get("policies") or []]
    return {**access_control, "policies": policies}


def flag_problems(model: Doc, dapr_bin: Path) -> list[str]:
    """Every flag a compose service passes to daprd, placement or scheduler exists in the
    pinned binaries (their `--help`), so a misspelt or removed flag is found before a run."""
    known: dict[str, set[str]] = {}
    problems = []
    for name, service in model.get("services", {}).items():
        command = service.get("command") or []
        binary = _binary(service)
        if binary not in DAPR_BINARIES:
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
    """daprshop's own images carry the project's version, so one build serves every way
    (but compose's daprshop/dapr, which carries Dapr's: compose_problems)."""
    return [
        f"{where}: image {image!r}, want tag {expected.image_tag}"
        for image in images
        if re.search(r"(^|/)daprshop/[\w-]+(:|$)", image)
        and not image.startswith(f"{DAPR_LOCAL_IMAGE}:")
        and _tag(image) != expected.image_tag
    ]


def locust_problems(where: str, commands: dict[str, list[str]], expected: Expected) -> list[str]:
    """A locust master's --host is orders at its app port (the same Service name everywhere)."""
    want = f"http://orders:{expected.ports['orders']}"
    return [
        f"{where} {name}: locust --host {_flag(cmd, 'host')!r}, want {want}"
        for name, cmd in commands.items()
        if "--master" in cmd and _flag(cmd, "host") != want
    ]


def _resource_problems(where: str, docs: list[Doc], expected: Expected, store: str) -> list[str]:
    """The components: make run's names, types, scopes and outbox topics (its secret store
    aside on Kubernetes, whose built-in one serves instead); Redis's password from `store`;
    make run's topic scopes, the outbox's internal topics in the pub/sub's namespace."""
    problems = []
    found, want = _components(docs), expected.components
    if store == K8S_SECRET_STORE:
        want = {n: c for n, c in want.items() if not c[0].startswith("secretstores.")}
    if found != want:
        problems.append(f"{where}: components {found}, want {want}")
    topics = _topics(docs)
    if topics != expected.topics:
        problems.append(f"{where}: outbox topics {topics}, want {expected.topics}")
    for d in (d for d in docs if d and d.get("kind") == "Component"):
        at = f"{where}: Component {d['metadata']['name']}"
        refs = {m["name"]: m.get("secretKeyRef") for m in d["spec"].get("metadata") or []}
        if (_type(d, "state.redis") or _type(d, "pubsub.redis")) and not refs.get("redisPassword"):
            problems.append(f"{at}: no redisPassword from a secret store")
        reads_from = (d.get("auth") or {}).get("secretStore")
        if any(refs.values()) and reads_from != store:
            problems.append(f"{at}: reads secrets from {reads_from!r}, want {store!r}")
        if _type(d, "pubsub."):
            problems += _scope_problems(at, d, expected)
    return problems


def _scope_problems(at: str, pubsub: Doc, expected: Expected) -> list[str]:
    # a Component without a namespace is self-hosted or compose: daprd's namespace `default`
    namespace = pubsub["metadata"].get("namespace") or security.SELF_HOSTED_NAMESPACE
    outbox = {security.outbox_topic(a): security.outbox_topic(a, namespace) for a in expected.ports}
    problems = []
    for key in SCOPES:
        value = _meta(pubsub).get(key)
        want = {
            app: tuple(outbox.get(t, t) for t in topics)
            for app, topics in expected.topic_scopes[key].items()
        }
        if not value:
            problems.append(f"{at}: no {key}; any app could publish or subscribe to any topic")
        elif parse_scopes(str(value)) != want:
            problems.append(f"{at}: {key} {value!r}, want {security.scope_string(want)!r}")
    return problems


def overlay_problems(name: str, docs: list[Doc], expected: Expected) -> list[str]:
    """Where a rendered overlay disagrees with self-hosted or drops a security control."""
    where = f"overlay {name}"
    problems = _resource_problems(where, docs, expected, K8S_SECRET_STORE)
    by_kind: dict[str, list[Doc]] = {}
    for d in docs:
        by_kind.setdefault(d["kind"], []).append(d)
    configs = {d["metadata"]["name"]: d for d in by_kind.get("Configuration", [])}
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
        config = expected.configurations[app_id]["metadata"]["name"]
        if notes.get("dapr.io/config") != config:
            problems.append(
                f"{at}: dapr.io/config {notes.get('dapr.io/config')!r}, want {config!r}"
            )
        elif config in configs:
            problems += _config_problems(
                f"{where} Configuration {config}",
                configs[config],
                app_id,
                expected,
                K8S_SECRET_STORE,
                True,
            )
        if (sidecar := notes.get("dapr.io/sidecar-image")) is not None:
            # found on a real cluster (issue #17): a pinned image bypasses the chart's
            # registry and version, and where that registry is unreachable the pod never starts
            problems.append(
                f"{at}: dapr.io/sidecar-image {sidecar!r}: leave the sidecar's image to the"
                " Dapr control plane's Helm chart (global.registry, global.tag)"
            )
        container = d["spec"]["template"]["spec"]["containers"][0]
        if port not in [p.get("containerPort") for p in container.get("ports", [])]:
            problems.append(f"{at}: container does not expose {port}")
        env = {e["name"]: e.get("value") for e in container.get("env", [])}
        if env.get("APP_PORT") != str(port):
            problems.append(f"{at}: APP_PORT {env.get('APP_PORT')}, want {port}")
        if isinstance(launch.program(app_id), launch.GoApp) and env.get("APP_HOST") != "0.0.0.0":
            problems.append(
                f"{at}: APP_HOST {env.get('APP_HOST')!r}, want 0.0.0.0: a Go app listens on"
                " loopback by default, and the probes and the Service reach the pod's address"
            )
        problems += _token_problems(at, d, expected)
        problems += _secret_reader_problems(at, d, configs.get(config), by_kind)
        service = services.get(app_id)
        if service is None or port not in [p.get("port") for p in service["spec"]["ports"]]:
            problems.append(f"{where}: no Service {app_id} on port {port}")
    token_secrets = [
        notes[a]
        for d in apps.values()
        for notes in [d["spec"]["template"]["metadata"]["annotations"]]
        for a in TOKEN_ANNOTATIONS
        if notes.get(a)
    ]
    for shared in sorted({t for t in token_secrets if token_secrets.count(t) > 1}):
        problems.append(f"{where}: token Secret {shared} serves two sidecars; want one per token")
    containers = {
        f"{d['metadata']['name']}/{c['name']}": c
        for d in by_kind.get("Deployment", [])
        for c in d["spec"]["template"]["spec"]["containers"]
    }
    problems += image_problems(where, [c["image"] for c in containers.values()], expected)
    commands = {n: [*c.get("command", []), *c.get("args", [])] for n, c in containers.items()}
    problems += locust_problems(where, commands, expected)
    problems += _k8s_secret_problems(where, by_kind, containers, expected)
    return problems


def _token_problems(at: str, deployment: Doc, expected: Expected) -> list[str]:
    """The injector gives the sidecar its two tokens from Secrets made in the cluster; the
    app reads the same ones, and Dapr's kubernetes secret store as its store."""
    problems = []
    notes = deployment["spec"]["template"]["metadata"]["annotations"]
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    env = {e["name"]: e for e in container.get("env", [])}
    for annotation, var in TOKEN_ANNOTATIONS.items():
        secret = notes.get(annotation)
        if not secret:
            problems.append(f"{at}: no {annotation}; its sidecar would run without {var}")
            continue
        if TOKEN_KEY not in expected.k8s_secrets.get(secret, ()):
            problems.append(f"{at}: {annotation} {secret}: {SECRETS_SCRIPT} makes no such Secret")
        ref = (env.get(var, {}).get("valueFrom") or {}).get("secretKeyRef") or {}
        if ref != {"name": secret, "key": TOKEN_KEY}:
            got = f"comes from {ref.get('name')}/{ref.get('key')}" if ref else "is no Secret's"
            problems.append(f"{at}: the app's {var} {got}, want its sidecar's {secret}/{TOKEN_KEY}")
    if env.get("DAPRSHOP_SECRET_STORE", {}).get("value") != K8S_SECRET_STORE:
        problems.append(f"{at}: DAPRSHOP_SECRET_STORE is not {K8S_SECRET_STORE!r}")
    if notes.get("dapr.io/disable-builtin-k8s-secret-store") == "true":
        problems.append(f"{at}: the built-in kubernetes secret store is disabled; the app reads it")
    return problems


def _secret_reader_problems(
    at: str, deployment: Doc, config: Doc | None, by_kind: dict[str, list[Doc]]
) -> list[str]:
    """The pod's service account may get exactly the secrets its Configuration lets the app
    read (the built-in store reads them with its token), and the pod mounts that token."""
    pod = deployment["spec"]["template"]["spec"]
    account = pod.get("serviceAccountName", "default")
    roles = {r["metadata"]["name"]: r for r in by_kind.get("Role", [])}
    bound = [
        roles.get(b["roleRef"]["name"], {})
        for b in by_kind.get("RoleBinding", [])
        if b["roleRef"]["kind"] == "Role"
        and {"kind": "ServiceAccount", "name": account}
        in [{"kind": s.get("kind"), "name": s.get("name")} for s in b.get("subjects") or []]
    ]
    readable = {
        name
        for role in bound
        for rule in role.get("rules") or []
        if "secrets" in rule.get("resources", []) and set(rule.get("verbs", [])) & {"get", "*"}
        for name in rule.get("resourceNames") or ["*"]
    }
    scopes = ((config or {}).get("spec", {}).get("secrets") or {}).get("scopes") or []
    want = {
        n
        for s in scopes
        if s.get("storeName") == K8S_SECRET_STORE
        for n in s.get("allowedSecrets", [])
    }
    problems = []
    if readable != want:
        problems.append(
            f"{at}: service account {account} may get secrets {sorted(readable)},"
            f" want {sorted(want)}"
        )
    if want and pod.get("automountServiceAccountToken") is False:
        problems.append(
            f"{at}: no service account token; the sidecar's kubernetes secret store needs it"
        )
    return problems


def _k8s_secret_problems(
    where: str, by_kind: dict[str, list[Doc]], containers: dict[str, Doc], expected: Expected
) -> list[str]:
    """No secret value is rendered (so none is committed): each Secret a component or a
    container reads is made in the cluster by make-secrets.sh, with that key."""
    problems = []
    for secret in by_kind.get("Secret", []):
        name = secret["metadata"]["name"]
        keys = {**(secret.get("data") or {}), **(secret.get("stringData") or {})}
        if name in expected.k8s_secrets or any(re.search("token|password", k) for k in keys):
            problems.append(
                f"{where}: Secret {name} is rendered with its value; {SECRETS_SCRIPT} makes it"
            )
    refs = [
        (f"Component {c['metadata']['name']}", m["secretKeyRef"])
        for c in by_kind.get("Component", [])
        for m in c["spec"].get("metadata") or []
        if m.get("secretKeyRef")
    ] + [
        (f"container {name}", e["valueFrom"]["secretKeyRef"])
        for name, c in containers.items()
        for e in c.get("env") or []
        if (e.get("valueFrom") or {}).get("secretKeyRef")
    ]
    for reader, ref in refs:
        if ref["key"] not in expected.k8s_secrets.get(ref["name"], ()):
            problems.append(
                f"{where}: {reader} reads {ref['name']}/{ref['key']},"
                f" which {SECRETS_SCRIPT} does not make"
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


def global_args(text: str) -> dict[str, str]:
    """The ARGs declared before a Dockerfile's first FROM, with their defaults ("" if none):
    the only variables a FROM line may use."""
    args = {}
    for line in re.sub(r"\\\n", " ", text).splitlines():
        word, _, rest = line.strip().partition(" ")
        if word.upper() == "FROM":
            break
        if word.upper() == "ARG":
            key, _, default = rest.strip().partition("=")
            args[key] = default.strip().strip('"')
    return args


def base_image(from_args: str, args: dict[str, str]) -> str:
    """A FROM line's image as built without --build-arg: `${NAME}` or `$NAME` resolved to
    the global ARG's default."""
    image = from_args.split()[0]
    return re.sub(r"\$\{?(\w+)\}?", lambda m: args.get(m.group(1), m.group(0)), image)


def service_dockerfile_problems(name: str, text: str, python: str = "3.11") -> list[str]:
    """The rules of a service image that hadolint does not know: multi-stage from a pinned
    slim Python of the project's version, dependencies from the lock, a numeric non-root
    user, a HEALTHCHECK, no build tools at run time."""
    problems = []
    stages = dockerfile_stages(text)
    if len(stages) < 2:
        problems.append(f"{name}: one stage; want a build stage and a runtime stage")
    # The base may be a build arg (compose's DAPRSHOP_PYTHON_IMAGE); its default is the rule's.
    args = global_args(text)
    for base in (base_image(stage[0][1], args) for stage in stages):
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


# What a Go service's build may copy: the module's files, the contracts it embeds (data)
# and decodes with (Go types), and the service itself (launch.GO_APPS).
GO_SOURCES = ("go.mod", "go.sum", "libs/contracts/data", "libs/contracts/go")
STATIC_BASES = ("scratch",)


def _pinned(image: str) -> bool:
    """A tag that names a version: not missing, not `latest`."""
    name, _, tag = image.rpartition(":")
    return bool(name) and "/" not in tag and tag not in ("", "latest")


def go_dockerfile_problems(
    name: str, text: str, app: str, package: str, port: int, go_image: str
) -> list[str]:
    """The rules of a Go service image: a build stage on the pinned Go builder (`go_image`,
    deploy/render.py's GO_IMAGE, the default of ARG GO_IMAGE so compose can pass a stand-in),
    a static binary (CGO_ENABLED=0) of the app's main package, copied alone onto scratch,
    run as a numeric non-root USER, listening on all interfaces of its container on the app
    port, with a HEALTHCHECK in exec form (scratch has no shell); and the build copies only
    the module, the contracts and the service."""
    problems = []
    stages = dockerfile_stages(text)
    args = global_args(text)
    if len(stages) < 2:
        return [f"{name}: one stage; want a Go build stage and a runtime stage FROM scratch"]
    build, final = stages[0], stages[-1]
    if args.get("GO_IMAGE") != go_image or "GO_IMAGE" not in build[0][1]:
        problems.append(
            f"{name}: the build stage is FROM {build[0][1]!r} with ARG GO_IMAGE="
            f"{args.get('GO_IMAGE')!r}; want FROM ${{GO_IMAGE}}, ARG GO_IMAGE={go_image}"
            " (deploy/render.py's GO_IMAGE; compose passes DAPRSHOP_GO_IMAGE)"
        )
    for stage in stages:
        base = base_image(stage[0][1], args)
        if base not in STATIC_BASES and not _pinned(base):
            problems.append(f"{name}: base {base!r} is not pinned to a version")
    final_base = base_image(final[0][1], args)
    if final_base not in STATIC_BASES:
        problems.append(f"{name}: final stage FROM {final_base}; want FROM scratch (static)")
    build_text = " ".join(a for _, a in build)
    if not re.search(r"\bCGO_ENABLED=0\b", build_text):
        problems.append(f"{name}: no CGO_ENABLED=0 in the build stage: the binary is not static")
    builds = [a for w, a in build if w == "RUN" and re.search(r"\bgo build\b", a)]
    if not any(re.search(rf"(?:^|\s){re.escape(package)}(?:\s|$)", a) for a in builds):
        problems.append(f"{name}: no `go build ... {package}` in the build stage")
    copies = (a.split() for w, a in build if w == "COPY")
    copied = [c for words in copies for c in words[:-1] if not c.startswith("--")]
    allowed = (*GO_SOURCES, f"services/{app}")
    if extra := [c for c in copied if c.rstrip("/") not in allowed]:
        problems.append(
            f"{name}: copies {', '.join(extra)}; the build needs only {', '.join(allowed)}"
        )
    if missing := [c for c in allowed if c not in (x.rstrip("/") for x in copied)]:
        problems.append(f"{name}: does not copy {', '.join(missing)}")
    user = [a for word, a in final if word == "USER"]
    if not user or not user[-1].split(":")[0].isdigit() or user[-1].split(":")[0] == "0":
        problems.append(f"{name}: the final stage must run as a numeric non-root USER")
    checks = [a for word, a in final if word == "HEALTHCHECK"]
    if not checks:
        problems.append(f"{name}: no HEALTHCHECK")
    elif not re.search(r"\bCMD\s+\[", checks[-1]):
        check = " ".join(checks[-1].split())
        problems.append(f"{name}: HEALTHCHECK {check!r}: scratch has no shell, want CMD [...]")
    if any(word == "RUN" for word, _ in final):
        problems.append(f"{name}: RUN in the final stage: scratch has nothing to run it with")
    env = " ".join(a for word, a in final if word == "ENV")
    if not re.search(r"\bAPP_HOST=0\.0\.0\.0\b", env):
        problems.append(f"{name}: no ENV APP_HOST=0.0.0.0: the app would listen on loopback only")
    if not re.search(rf"\bAPP_PORT={port}\b", env):
        problems.append(f"{name}: no ENV APP_PORT={port}")
    if str(port) not in " ".join(a for word, a in final if word == "EXPOSE").split():
        problems.append(f"{name}: does not EXPOSE {port}")
    if not any(word in ("ENTRYPOINT", "CMD") for word, _ in final):
        problems.append(f"{name}: no ENTRYPOINT: the image does not start the binary")
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

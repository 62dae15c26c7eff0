"""Rules of docker-compose.yml that self-hosted has no counterpart for: a healthcheck probes a
port served in its own service's network namespace, or watches the connection its service
makes (`up --wait` waits for every healthcheck); ports are published on the loopback interface
at variables (a test picks free ones), an app's by its pod; a container Configuration keeps
to Dapr's default name resolution. Each rule returns the problems it finds, as sentences
naming the place; none means the file keeps the rule.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from daprshop.deployrules import dockerfile_stages, pod
from daprshop.deploytools import Doc

# host:port in a probe, the port a number or a variable (`$VAR`, `${VAR}`, os.environ['VAR']).
PROBE = re.compile(
    r"(?:127\.0\.0\.1|localhost|\[::1\]):"
    r"(?:(\d+)|\$\{?(\w+)\}?|'\s*\+\s*os\.environ\[['\"](\w+)['\"]\])"
)
# A probe of a connection the service made: a remote port (hex) sought in /proc/net/tcp.
CONNECTION = re.compile(r"/proc/net/tcp.*?':([0-9A-Fa-f]{4})'")
# The ports a Dapr binary listens on (not --app-port: the app's, which daprd calls).
SERVING_FLAGS = (
    "--port",
    "--healthz-port",
    "--metrics-port",
    "--dapr-http-port",
    "--dapr-grpc-port",
    "--dapr-internal-grpc-port",
)
LOCUST_MASTER_PORT = "5557"  # locust's --master-port default, where a worker connects


def image_dockerfiles(model: Doc, compose_root: Path, repo: Path) -> dict[str, str]:
    """image -> the text of the Dockerfile the compose file builds it from (read in `repo`,
    the model's paths being resolved under `compose_root`, where a copy of the file is)."""
    out = {}
    for service in model.get("services", {}).values():
        build = service.get("build")
        if build and service.get("image"):
            context = Path(build["context"]).relative_to(compose_root)
            out[service["image"]] = (
                repo / context / build.get("dockerfile", "Dockerfile")
            ).read_text()
    return out


def _image_healthcheck(dockerfile: str) -> str | None:
    stages = dockerfile_stages(dockerfile)
    checks = [args for word, args in (stages[-1] if stages else []) if word == "HEALTHCHECK"]
    return checks[-1] if checks else None


def _served(service: Doc) -> set[str]:
    """The container ports a service listens on, as far as the compose file says."""
    ports = {str(p.get("target")) for p in service.get("ports") or []}
    ports |= {str(p).split("/")[0] for p in service.get("expose") or []}
    command = [str(arg) for arg in service.get("command") or []]
    ports |= {command[i + 1] for i, arg in enumerate(command[:-1]) if arg in SERVING_FLAGS}
    app_port = (service.get("environment") or {}).get("APP_PORT")
    return ports | ({str(app_port)} if app_port else set())


def _holder(name: str, service: Doc) -> str:
    """The service whose network namespace `name` runs in (network_mode service:<holder>)."""
    mode = str(service.get("network_mode") or "")
    return mode.removeprefix("service:") if mode.startswith("service:") else name


def _served_in_namespace(name: str, services: dict[str, Doc]) -> set[str]:
    """The ports served at 127.0.0.1 for `name`: its own and those of every service sharing
    its network namespace (a pod's: its app's and its sidecar's)."""
    holder = _holder(name, services[name])
    return set().union(*(_served(s) for n, s in services.items() if _holder(n, s) == holder))


def _connects_to(service: Doc) -> set[str]:
    """The remote ports a service connects to, as far as the compose file says: a locust
    worker to its master's --master-port."""
    command = [str(arg) for arg in service.get("command") or []]
    if "--worker" not in command:
        return set()
    given = [command[i + 1] for i, arg in enumerate(command[:-1]) if arg == "--master-port"]
    return {given[-1] if given else LOCUST_MASTER_PORT}


def healthcheck_problems(model: Doc, dockerfiles: dict[str, str]) -> list[str]:
    """Every healthcheck a service runs (its own, or its image's HEALTHCHECK) probes a port
    served in that service's network namespace (a pod's: its app's and its sidecar's): one
    probing another service's port never passes, and `docker compose up --wait` then fails
    (the locust worker with the master's :8089). A probe may instead watch, in /proc/net/tcp,
    a connection its service makes (the worker, serving nothing, its master's 5557)."""
    problems = []
    services: dict[str, Doc] = model.get("services", {})
    for name, service in sorted(services.items()):
        check = service.get("healthcheck")
        if check and check.get("disable"):
            continue
        if check:
            test, source = " ".join(check.get("test") or []), "its healthcheck"
        else:
            image_check = _image_healthcheck(dockerfiles.get(service.get("image", ""), ""))
            if image_check is None:
                continue
            test, source = image_check, f"its image's HEALTHCHECK ({service.get('image')})"
        env = service.get("environment") or {}
        served = _served_in_namespace(name, services)
        for number, var, environ in PROBE.findall(test):
            port = number or env.get(var or environ)
            if port is None or str(port) not in served:
                problems.append(
                    f"compose {name}: {source} probes port {number or var or environ},"
                    f" which {name} does not serve (it serves {sorted(served) or 'none'})"
                )
        connects = _connects_to(service)
        for remote in (str(int(hex_port, 16)) for hex_port in CONNECTION.findall(test)):
            if remote not in connects:
                problems.append(
                    f"compose {name}: {source} watches a connection to port {remote},"
                    f" which {name} does not connect to (it connects to"
                    f" {sorted(connects) or 'none'})"
                )
    return problems


def name_resolution_problems(where: str, text: str) -> list[str]:
    """A container Configuration (compose's, or the Kubernetes base's) names no resolver and
    no comment says SQLite: make run's SQLite resolver needs a file every sidecar shares, so
    compose resolves by mDNS and Kubernetes by DNS, Dapr's defaults there."""
    problems = [
        f"{where}: comment {line.strip()!r} speaks of SQLite (make run's resolver only)"
        for line in text.splitlines()
        if line.lstrip().startswith("#") and "sqlite" in line.lower()
    ]
    for doc in yaml.safe_load_all(text):
        if (
            doc
            and doc.get("kind") == "Configuration"
            and "nameResolution" in (doc.get("spec") or {})
        ):
            problems.append(
                f"{where}: Configuration {doc['metadata']['name']} sets nameResolution;"
                " containers use Dapr's default resolver"
            )
    return problems


def configuration_files(repo: Path) -> dict[str, str]:
    """The rendered container Configurations: compose's, one per app, and the k8s base's."""
    files = sorted((repo / "deploy" / "compose" / "configuration").glob("*.yaml"))
    files.append(repo / "deploy" / "k8s" / "base" / "dapr.yaml")
    return {str(f.relative_to(repo)): f.read_text() for f in files}


HOST_PORT = re.compile(r"127\.0\.0\.1:\$\{(DAPRSHOP_\w+_PORT):-(\d+)\}:(\d+)")


def port_problems(raw: Doc, app_ports: dict[str, int]) -> list[str]:
    """On the file as written (before interpolation): every published port binds 127.0.0.1
    at a variable of its own whose default is the container's port; an app's is published by
    its pod (the app has none of its own: it joins the pod's namespace) at make run's port
    (`app_ports`), so a test chooses free ports and nothing listens on the network; and no
    fixed container_name, which would keep two projects (`-p`) from coexisting."""
    problems, seen = [], set()
    pods = {pod(app): port for app, port in app_ports.items()}
    for name, service in sorted((raw.get("services") or {}).items()):
        if "container_name" in service:
            problems.append(f"compose {name}: container_name fixed; two projects would clash")
        for entry in service.get("ports") or []:
            found = HOST_PORT.fullmatch(str(entry))
            if found is None:
                problems.append(
                    f"compose {name}: port {entry!r}, want"
                    ' "127.0.0.1:${DAPRSHOP_<NAME>_PORT:-<port>}:<port>"'
                )
                continue
            var, default, target = found.groups()
            if var in seen:
                problems.append(f"compose {name}: {var} publishes two ports")
            seen.add(var)
            if default != target:
                problems.append(f"compose {name}: {var} defaults to {default}, want {target}")
            if name in pods and int(target) != pods[name]:
                problems.append(
                    f"compose {name}: publishes {target}, make run's port is {pods[name]}"
                )
        if name in pods and not service.get("ports"):
            problems.append(f"compose {name}: not published at make run's {pods[name]}")
        if name in app_ports and service.get("ports"):
            problems.append(f"compose {name}: publishes ports itself; its pod {pod(name)} does")
    return problems

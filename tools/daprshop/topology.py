"""Which processes the self-hosted stack runs, and on which loopback ports.

One place for app-ids and ports, read by the launcher, the test fixtures, the docs and
deploy/render.py (which writes every file that lists app-ids from it). The app-ids are orders
and the saga's participants, in saga order, so a participant added to the saga definition is
deployed everywhere without another edit.
Every default can be overridden by an environment variable, e.g. `DAPRSHOP_REDIS_PORT=6390`
or `DAPRSHOP_ORDERS_APP_PORT=9001`; tests use `Topology.free()` instead.
"""

from __future__ import annotations

import contextlib
import os
import random
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, fields
from pathlib import Path

from daprshop_contracts.saga import PARTICIPANTS

# Hosts the saga (the Dapr Workflow runtime), so its state store also holds actor state.
WORKFLOW_HOST = "orders"
APP_IDS: tuple[str, ...] = (WORKFLOW_HOST, *PARTICIPANTS)
# The authenticated gateway in front of orders' public API: a sidecar with no app
# (tools/daprshop/edge.py) behind nginx (tools/daprshop/front.py), started with the apps
# when security is on.
EDGE = "edge"
# What probes an app's health. The workflow host's process can live on with its workflow
# engine dead (docs/workflow-engine.md), so its probe asks about the engine too; its
# watchdog repairs the engine within ~35 s, so its liveness allows that much first.
# daprd's own app health check stays on /healthz: a 503 there would stop pub/sub deliveries.
HEALTH_PATH = {WORKFLOW_HOST: "/healthz/workflow"}
LIVENESS_FAILURES = {WORKFLOW_HOST: 8}  # probes 5 s apart; others: 4


def health_path(app_id: str) -> str:
    return HEALTH_PATH.get(app_id, "/healthz")


@dataclass(frozen=True)
class AppPorts:
    app: int
    http: int
    grpc: int
    internal: int
    metrics: int


@dataclass(frozen=True)
class Topology:
    redis: int = 6380
    placement: int = 50005
    placement_raft: int = 8201
    placement_healthz: int = 8081
    placement_metrics: int = 9105
    scheduler: int = 50006
    scheduler_healthz: int = 8082
    scheduler_metrics: int = 9106
    scheduler_etcd_client: int = 2379
    scheduler_etcd_peer: int = 2380
    sentry: int = 50007
    sentry_healthz: int = 8083
    edge_http: int = 8000  # where clients call the public API (with a JWT): nginx (front.py)
    edge_dapr_http: int = 3510  # the edge's daprd behind nginx (JWT check, invocation)
    edge_grpc: int = 50020
    edge_internal: int = 50021
    edge_metrics: int = 9110
    issuer: int = 8090  # the local token issuer's JWKS
    zipkin: int = 9411  # the trace backend's API and UI, when the stack runs one
    apps: dict[str, AppPorts] = field(default_factory=dict)

    @classmethod
    def defaults(cls, env: dict[str, str] | None = None) -> Topology:
        """Documented default ports, each overridable by `DAPRSHOP_<NAME>_PORT`."""
        env = dict(os.environ if env is None else env)

        def pick(name: str, default: int) -> int:
            raw = env.get(f"DAPRSHOP_{name.upper()}_PORT")
            if raw is None:
                return default
            if not raw.isdigit() or not 0 < int(raw) < 65536:
                raise SystemExit(f"DAPRSHOP_{name.upper()}_PORT={raw!r} is not a TCP port")
            return int(raw)

        return cls._build(lambda name, default: pick(name, default))

    @classmethod
    def free(cls) -> Topology:
        """Ports the kernel reports free now, so a test stack never clashes with `make run`."""
        with _free_ports() as grab:
            return cls._build(lambda _name, _default: grab())

    def busy(self, host: str = "127.0.0.1") -> list[tuple[str, int]]:
        """The ports of this topology that something else holds now, as (variable, port):
        each is tried the way a server binds (SO_REUSEADDR, so TIME_WAIT is no conflict)."""
        taken = []
        for name, port in self.to_env().items():
            with socket.socket() as s:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                try:
                    s.bind((host, int(port)))
                except OSError:
                    taken.append((name, int(port)))
        return taken

    def to_env(self) -> dict[str, str]:
        """The `DAPRSHOP_*_PORT` variables that make `Topology.defaults()` return self."""
        env = {
            f"DAPRSHOP_{f.name.upper()}_PORT": str(getattr(self, f.name))
            for f in fields(self)
            if f.name != "apps"
        }
        for app_id, ports in self.apps.items():
            for f in fields(AppPorts):
                env[f"DAPRSHOP_{app_id.upper()}_{f.name.upper()}_PORT"] = str(
                    getattr(ports, f.name)
                )
        return env

    @classmethod
    def _build(cls, pick: Callable[[str, int], int]) -> Topology:
        infra = {
            f.name: pick(f.name, f.default)  # type: ignore[arg-type]
            for f in fields(cls)
            if f.name != "apps"
        }
        apps = {}
        # App i's ports are <base> + i, skipping any port already taken (placement is 50005
        # and its metrics 9105, scheduler 50006/9106): a fifth app must not land on them.
        bases = {"app": 8000, "http": 3500, "grpc": 50000, "internal": 50010, "metrics": 9100}
        taken = {f.default for f in fields(cls) if f.name != "apps"}
        offset = dict.fromkeys(bases, 0)

        def next_port(kind: str) -> int:
            while True:
                offset[kind] += 1
                port = bases[kind] + offset[kind]
                if port not in taken:
                    taken.add(port)
                    return port

        for app_id in APP_IDS:
            default = AppPorts(**{kind: next_port(kind) for kind in bases})
            apps[app_id] = AppPorts(
                **{
                    f.name: pick(f"{app_id}_{f.name}", getattr(default, f.name))
                    for f in fields(AppPorts)
                }
            )
        return cls(**infra, apps=apps)


def _below_ephemeral() -> range:
    """Ports the kernel never hands to an outgoing connection: below its ephemeral range
    (ip_local_port_range, 32768-60999 by default). A port taken from inside that range was
    free when picked, and an outgoing connection took it before the server bound it: seen in
    CI under load (placement: `bind: address already in use`)."""
    try:
        low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        low = 32768
    return range(10_000, max(low, 20_000))


@contextlib.contextmanager
def _free_ports() -> Iterator[Callable[[], int]]:
    """A function returning a loopback port that is free now and outside the kernel's
    ephemeral range, a new one each call (each held until the block ends, so no two calls
    return the same port)."""
    socks: list[socket.socket] = []
    ports = _below_ephemeral()

    def grab() -> int:
        while True:
            s = socket.socket()
            try:
                s.bind(("127.0.0.1", random.choice(ports)))
            except OSError:  # held by someone: draw again
                s.close()
                continue
            socks.append(s)
            return int(s.getsockname()[1])

    try:
        yield grab
    finally:
        for s in socks:
            s.close()


def free_ports(n: int) -> list[int]:
    """`n` different loopback ports, free now, outside the ephemeral range."""
    with _free_ports() as grab:
        return [grab() for _ in range(n)]


# -- replicas: more instances of one app-id, each an app + its sidecar ----------------------
# orders is not replicated: it hosts the workflow runtime, the reconciler and the watchdog,
# which assume one instance.
REPLICABLE: tuple[str, ...] = PARTICIPANTS
MAX_REPLICAS = 5


def free_app_ports(count: int, avoid: Topology) -> list[AppPorts]:
    """Free loopback ports for `count` more instances of apps (a replica has no default
    ports), none of them one of `avoid`'s (make run's defaults are not bound yet)."""
    taken = {int(port) for port in avoid.to_env().values()}
    with _free_ports() as grab:

        def pick() -> int:
            while (port := grab()) in taken:
                pass
            return port

        return [AppPorts(**{f.name: pick() for f in fields(AppPorts)}) for _ in range(count)]


def instance_names(app_id: str, count: int) -> list[str]:
    """The process names of `count` instances of `app_id`: the first keeps the app-id,
    the others are `<app-id>-2`, `<app-id>-3`, ... (their sidecars: `<name>-daprd`)."""
    return [app_id, *(f"{app_id}-{i}" for i in range(2, count + 1))]


def parse_replicas(spec: str) -> dict[str, int]:
    """`inventory=2,payments=3` (DAPRSHOP_REPLICAS, make run's REPLICAS) as {app-id: count}."""
    out: dict[str, int] = {}
    for item in filter(None, (part.strip() for part in spec.split(","))):
        app_id, _, raw = item.partition("=")
        app_id = app_id.strip()
        if app_id not in REPLICABLE:
            raise ValueError(
                f"replicas {item!r}: only participants can run several instances "
                f"({', '.join(REPLICABLE)}); write e.g. inventory=2"
            )
        if not raw.strip().isdigit() or not 1 <= int(raw) <= MAX_REPLICAS:
            raise ValueError(
                f"replicas {item!r}: the count is a number of instances from 1 to "
                f"{MAX_REPLICAS}, e.g. {app_id}=2"
            )
        out[app_id] = int(raw)
    return out

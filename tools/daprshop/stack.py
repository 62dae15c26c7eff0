"""Start, supervise and stop the self-hosted stack: Redis, placement, scheduler, Sentry,
Zipkin (optional), and per service its app (uvicorn, or a Go binary built at start:
daprshop.launch) + daprd, all on 127.0.0.1. Used by `make run` and by the test fixtures.

Once the stack is up, a supervisor thread restarts any process that dies, with back-off
(daprshop.supervision), logs why, and keeps a status file for `daprshop status`. Each process
runs in its own process group and receives SIGTERM if the thread that started it ends
(PR_SET_PDEATHSIG); a pid file lets `daprshop down` clean up after a launcher killed -9.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import logging
import os
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import yaml

from daprshop import edge, front, launch
from daprshop import zipkin as zipkin_server
from daprshop.security import (
    SECURITY_ENV,
    Credentials,
    secrets_dir,
    security_on,
    sentry_token_file,
    sentry_tokens,
    write_private,
)
from daprshop.standins import pin
from daprshop.supervision import (
    STATUS_FILE,
    Backoff,
    Liveness,
    Probes,
    Restarts,
    describe_exit,
    write_status,
)
from daprshop.topology import (
    APP_IDS,
    EDGE,
    LIVENESS_FAILURES,
    WORKFLOW_HOST,
    AppPorts,
    Topology,
    free_app_ports,
    health_path,
    instance_names,
)

REPO = Path(__file__).resolve().parents[2]
COMPONENTS = REPO / "components"
DEFAULT_REDIS = "localhost:6380"
DEFAULT_NR_DB = "/tmp/daprshop-nameresolution.db"
DEFAULT_SECRETS_FILE = ".run/secrets/store.json"
SENTRY_CONFIG = COMPONENTS / "configuration" / "sentry.yaml"
PDEATHSIG = 1  # prctl option PR_SET_PDEATHSIG
TICK_S = 0.2  # how often the supervisor looks at its processes
# Started in this order, each stage healthy before the next, before the apps and sidecars;
# a process defined but not in `infra` (placement without control_plane) never starts.
INFRA_STAGES: tuple[tuple[str, ...], ...] = (
    ("redis", "sentry", "issuer"),  # the edge's token issuer: its JWKS is read at edge start
    ("placement", "scheduler"),
)
# Started first, waited for last: nothing needs them to start (a sidecar's spans wait for the
# trace backend), so their start-up overlaps everyone else's.
EARLY = ("zipkin",)
log = logging.getLogger("daprshop")


class StackError(RuntimeError):
    """A process of the stack failed to start or died; the message says which and why."""


def _die_with_parent() -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PDEATHSIG, signal.SIGTERM)


@dataclass
class Proc:
    name: str
    argv: list[str]
    # "http://..." (2xx expected), "tcp://host:port", or "http401://..." (up and refusing a
    # caller without a token: the edge, whose middleware answers before its health check)
    health: str
    env: dict[str, str]
    restarts: Restarts
    popen: subprocess.Popen[bytes] | None = None
    # running | restarting (started again, not healthy yet) | backing off | stopped
    state: str = "stopped"
    held: bool = False  # stopped on purpose (Stack.kill): not restarted until respawn()
    since: float = 0.0  # wall clock of the last state change
    restart_at: float | None = None  # monotonic, while backing off
    last_exit: str | None = None
    exited_at: float | None = None  # wall clock
    changed: float = 0.0  # monotonic time of the last state change
    died: float = 0.0  # monotonic time of the last exit
    probes: Probes | None = None  # liveness: failed health checks in a row while running
    killed_for: str | None = None  # why the supervisor killed it (a failed liveness probe)
    # Environment read when the process is (re)started: the trust anchors Sentry makes
    late_env: Callable[[], dict[str, str]] | None = None

    def log_tail(self, logs: Path, lines: int = 25) -> str:
        path = logs / f"{self.name}.log"
        if not path.exists():
            return "(no log)"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def _healthy(url: str) -> bool:
    if url.startswith("tcp://"):
        host, port = url[6:].split(":")
        try:
            with socket.create_connection((host, int(port)), timeout=1) as s:
                s.sendall(b"PING\r\n")
                # Redis with a password answers NOAUTH: up, and refusing strangers
                return s.recv(16).startswith((b"+PONG", b"-NOAUTH"))
        except OSError:
            return False
    refusing = url.startswith("http401://")
    if refusing:
        url = "http://" + url.removeprefix("http401://")
    try:
        with urllib.request.urlopen(url, timeout=2) as resp:
            status: int = resp.status
            return 200 <= status < 300 and not refusing
    except urllib.error.HTTPError as err:
        return refusing and err.code == 401
    except (urllib.error.URLError, OSError):
        return False


class Stack:
    """The whole topology on the ports of `topo`, with state, logs and pids under `workdir`."""

    def __init__(
        self,
        topo: Topology,
        workdir: Path,
        bin_dir: Path,
        *,
        persistent: bool = False,
        apps: Iterable[str] = APP_IDS,
        replicas: dict[str, int] | None = None,
        control_plane: bool = True,
        log_level: str = "info",
        app_env: dict[str, str] | None = None,
        supervise: bool = True,
        backoff: Backoff | None = None,
        liveness: Liveness | None = None,
        security: bool | None = None,
        edge: bool | None = None,
        edge_rate: int = front.RATE_PER_S,
        zipkin: bool = False,
        programs: dict[str, launch.App] | None = None,
    ) -> None:
        self.topo, self.workdir, self.bin_dir = topo, workdir, bin_dir
        self.persistent, self.log_level = persistent, log_level
        self.apps = tuple(apps)
        self.instances = self._instances(dict(replicas or {}))
        self.control_plane = control_plane  # placement + scheduler, needed for workflows
        self.app_env = dict(app_env or {})
        # Zipkin, and each sidecar's spans sent to it; without it trace context still flows
        self.zipkin = zipkin
        # mTLS (Sentry), access control and API tokens; off only to measure their cost
        self.security = security_on() if security is None else security
        # The authenticated gateway in front of orders (daprshop.edge): it needs mTLS and orders
        self.edge = (self.security and WORKFLOW_HOST in self.apps) if edge is None else edge
        self.edge_rate = edge_rate  # requests a second per client address and per token
        self.credentials = Credentials.load_or_create(workdir, self.apps)
        self.logs = workdir / "logs"
        # How each app starts (daprshop.launch); the Go ones are built into app_bin at start()
        # how each app starts (launch.py); `programs` replaces some (a benchmark's old version)
        self.programs = {**launch.programs(self.apps), **(programs or {})}
        self.app_bin = workdir / "bin"
        self.procs: dict[str, Proc] = {}
        self.supervise, self.backoff = supervise, backoff or Backoff()
        self.liveness = liveness or Liveness()
        self._lock = threading.RLock()  # the supervisor thread and callers change procs
        self._stopping = threading.Event()
        self._supervisor: threading.Thread | None = None
        self._prober: threading.Thread | None = None

    # -- topology -------------------------------------------------------------------------
    def _instances(self, replicas: dict[str, int]) -> dict[str, tuple[str, AppPorts]]:
        """Each app + sidecar pair to run, by process name: (app-id, ports). An app's first
        instance has the topology's ports; each replica (`replicas`: app-id -> instances)
        gets free ports and the same app-id, so the callers' sidecars balance between them."""
        if unknown := set(replicas) - set(self.apps):
            raise StackError(f"replicas of {sorted(unknown)}: not an app of this stack")
        if bad := {a: n for a, n in replicas.items() if n < 1}:
            raise StackError(f"replicas {bad}: an app runs at least one instance")
        extra = iter(free_app_ports(sum(replicas.values()) - len(replicas), self.topo))
        out = {}
        for app_id in self.apps:
            first, *others = instance_names(app_id, replicas.get(app_id, 1))
            out[first] = (app_id, self.topo.apps[app_id])
            out.update({name: (app_id, next(extra)) for name in others})
        return out

    def _render_resources(self) -> tuple[Path, dict[str, Path]]:
        """Copy components/ with this stack's Redis address and secrets file, and each app's
        Configuration with this stack's name-resolution file and Zipkin (none without one;
        without access control when security is off: without mTLS, Dapr denies every call a
        policy names)."""
        out = self.workdir / "components"
        out.mkdir(parents=True, exist_ok=True)
        redis = f"127.0.0.1:{self.topo.redis}"
        store = str(secrets_dir(self.workdir) / "store.json")
        for path in COMPONENTS.glob("*.yaml"):
            text = path.read_text().replace(DEFAULT_REDIS, redis)
            (out / path.name).write_text(text.replace(DEFAULT_SECRETS_FILE, store))
        configs = {}
        (self.workdir / "config").mkdir(exist_ok=True)
        for app_id in self.apps:
            src = (COMPONENTS / "configuration" / f"{app_id}.yaml").read_text()
            if DEFAULT_NR_DB not in src:
                raise StackError(
                    f"components/configuration/{app_id}.yaml must name {DEFAULT_NR_DB}"
                )
            text = _traced_to(
                src.replace(DEFAULT_NR_DB, str(self.workdir / "nr.db")), self._zipkin_endpoint()
            )
            if not self.security:
                text = _without_access_control(text)
            configs[app_id] = self.workdir / "config" / f"{app_id}.yaml"
            configs[app_id].write_text(text)
        return out, configs

    def _zipkin_endpoint(self) -> str | None:
        """Where the sidecars send their spans: this stack's Zipkin, or nowhere."""
        return zipkin_server.endpoint(self.topo.zipkin) if self.zipkin else None

    def _sentry_config(self) -> Path:
        """Sentry's configuration with this start's token validator: it signs an identity
        only for a process holding a token the launcher signed (security.sentry_tokens)."""
        names = [*self.apps, *([EDGE] if self.edge else [])]
        if self.control_plane:
            names += ["dapr-placement", "dapr-scheduler"]
        jwks = sentry_tokens(self.workdir, names)
        config = yaml.safe_load(SENTRY_CONFIG.read_text())
        config["spec"]["mtls"]["tokenValidators"] = [
            {"name": "jwks", "options": {"source": str(jwks)}}
        ]
        path = self.workdir / "config" / "sentry.yaml"
        path.parent.mkdir(exist_ok=True)
        path.write_text(yaml.safe_dump(config, sort_keys=False))
        return path

    def _sentry_token(self, name: str) -> dict[str, str]:
        if not self.security:
            return {}
        return {"DAPR_SENTRY_TOKEN_FILE": str(sentry_token_file(self.workdir, name))}

    def _trust_anchors(self) -> dict[str, str]:
        """DAPR_TRUST_ANCHORS for a sidecar: the CA Sentry made at this stack's first start."""
        return {"DAPR_TRUST_ANCHORS": (self.workdir / "sentry" / "ca.crt").read_text()}

    def _mtls(self, *, sidecar: bool) -> list[str]:
        """The flags that make a Dapr process take its identity from this stack's Sentry."""
        if not self.security:
            return []
        sentry = ["--sentry-address", f"127.0.0.1:{self.topo.sentry}"]
        if sidecar:
            return ["--enable-mtls", *sentry]
        ca = str(self.workdir / "sentry" / "ca.crt")
        return ["--tls-enabled", "--trust-anchors-file", ca, *sentry]

    def _define(self) -> None:
        t, b, w = self.topo, self.bin_dir, self.workdir
        env = {**os.environ, "DAPR_HOST_IP": "127.0.0.1"}
        # The password lives in a 0600 file, not on the command line (`ps` shows argv).
        write_private(w / "redis.conf", f"requirepass {self.credentials.redis_password}\n")
        redis_args = [
            str(w / "redis.conf"),
            "--port",
            str(t.redis),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(w / "redis"),
            "--save",
            "",
            "--protected-mode",
            "yes",
            "--daemonize",
            "no",
        ]
        redis_args += ["--appendonly", "yes" if self.persistent else "no"]
        # Redis write()s the append-only file before it replies, so an acknowledged write
        # survives a kill -9 of Redis with `everysec`; `always` (fsync per write) would add
        # only survival of an OS crash, at ~10x the latency per write (README, measured).
        redis_args += ["--appendfsync", "everysec"]
        self._add("redis", ["redis-server", *redis_args], f"tcp://127.0.0.1:{t.redis}", env)
        infra = ["redis"]
        common = [
            "--log-level",
            self.log_level,
            "--metrics-listen-address",
            "127.0.0.1",
            "--healthz-listen-address",
            "127.0.0.1",
            "--listen-address",
            "127.0.0.1",
        ]
        if self.security:
            infra.append("sentry")
            self._add(
                "sentry",
                [
                    str(b / "sentry"),
                    "--config",
                    str(self._sentry_config()),
                    "--issuer-credentials",
                    str(w / "sentry"),  # a CA made at first start, files 0600
                    "--port",
                    str(t.sentry),
                    "--listen-address",
                    "127.0.0.1",
                    "--healthz-port",
                    str(t.sentry_healthz),
                    # ignored by 1.18.2, honoured once dapr/dapr#10394 is in a release we run
                    "--healthz-listen-address",
                    "127.0.0.1",
                    "--enable-metrics=false",  # Sentry's metrics server binds every interface
                    "--log-level",
                    self.log_level,
                ],
                f"http://127.0.0.1:{t.sentry_healthz}/healthz",
                env,
            )
        if self.control_plane:
            infra += ["placement", "scheduler"]
        self._add(
            "placement",
            [
                str(b / "placement"),
                "--port",
                str(t.placement),
                "--healthz-port",
                str(t.placement_healthz),
                "--metrics-port",
                str(t.placement_metrics),
                "--initial-cluster",
                f"dapr-placement-0=127.0.0.1:{t.placement_raft}",
                *self._mtls(sidecar=False),
                *common,
            ],
            f"http://127.0.0.1:{t.placement_healthz}/healthz",
            {**env, **self._sentry_token("dapr-placement")},
        )
        self._add(
            "scheduler",
            [
                str(b / "scheduler"),
                "--port",
                str(t.scheduler),
                "--healthz-port",
                str(t.scheduler_healthz),
                "--metrics-port",
                str(t.scheduler_metrics),
                "--etcd-data-dir",
                str(w / "scheduler-etcd"),
                "--etcd-client-port",
                str(t.scheduler_etcd_client),
                "--etcd-client-listen-address",
                "127.0.0.1",
                "--etcd-initial-cluster",
                f"dapr-scheduler-server-0=http://127.0.0.1:{t.scheduler_etcd_peer}",
                "--override-broadcast-host-port",
                f"127.0.0.1:{t.scheduler}",
                *self._mtls(sidecar=False),
                *common,
            ],
            f"http://127.0.0.1:{t.scheduler_healthz}/healthz",
            {**env, **self._sentry_token("dapr-scheduler")},
        )
        if self.zipkin:
            infra.append("zipkin")
            try:
                argv = zipkin_server.argv(pin("ZIPKIN_IMAGE"), t.zipkin)
            except zipkin_server.ZipkinError as err:
                raise StackError(str(err)) from err
            self._add(
                "zipkin",
                argv,
                f"http://127.0.0.1:{t.zipkin}/health",
                {**env, **zipkin_server.env()},
            )
        self.infra = tuple(infra)
        resources, configs = self._render_resources()
        control = (
            [
                "--placement-host-address",
                f"127.0.0.1:{t.placement}",
                "--scheduler-host-address",
                f"127.0.0.1:{t.scheduler}",
            ]
            if self.control_plane
            else ["--placement-host-address", "", "--scheduler-host-address", ""]
        )
        for name, (app_id, p) in self.instances.items():
            self._add(
                f"{name}-daprd",
                [
                    str(b / "daprd"),
                    "--app-id",
                    app_id,
                    "--app-port",
                    str(p.app),
                    "--app-protocol",
                    "http",
                    "--dapr-http-port",
                    str(p.http),
                    "--dapr-grpc-port",
                    str(p.grpc),
                    "--dapr-internal-grpc-port",
                    str(p.internal),
                    "--dapr-internal-grpc-listen-address",  # sidecar-to-sidecar
                    "127.0.0.1",
                    "--dapr-listen-addresses",
                    "127.0.0.1",
                    "--metrics-port",
                    str(p.metrics),
                    "--metrics-listen-address",
                    "127.0.0.1",
                    "--resources-path",
                    str(resources),
                    "--config",
                    str(configs[app_id]),
                    *control,
                    *self._mtls(sidecar=True),
                    "--log-level",
                    self.log_level,
                ],
                f"http://127.0.0.1:{p.http}/v1.0/healthz",
                {**env, **self._tokens(app_id), **self._sentry_token(app_id)},
                late_env=self._trust_anchors if self.security else None,
            )
            app_env = {
                **env,
                **self.app_env,
                **self._tokens(app_id),
                "APP_ID": app_id,
                "DAPRSHOP_INSTANCE": name,  # what its /healthz answers, to tell replicas apart
                "APP_PORT": str(p.app),
                "DAPR_HTTP_PORT": str(p.http),
                "DAPR_GRPC_PORT": str(p.grpc),
                "DAPR_RUNTIME_HOST": "127.0.0.1",
                **({"DAPRSHOP_TRACES_URL": self.traces_url()} if self.zipkin else {}),
                **self.programs[app_id].env(),
            }
            self._add(
                name,
                self.programs[app_id].argv(self.app_bin, p.app),
                f"http://127.0.0.1:{p.app}{health_path(app_id)}",
                app_env,
            )
        if self.edge:
            self._add_edge(env)

    def _add_edge(self, env: dict[str, str]) -> None:
        """The token issuer (an infra stage: the edge reads its JWKS at start), the edge's
        sidecar and nginx in front of it; no API token: clients authenticate with a JWT
        (daprshop.edge)."""
        t = self.topo
        jwks = edge.publish_jwks(self.workdir)
        self._add(
            "issuer", edge.issuer_argv(jwks, t), f"http://{edge.issuer_address(t)}/jwks.json", env
        )
        self.infra += ("issuer",)
        nr_db = (DEFAULT_NR_DB, str(self.workdir / "nr.db"))
        resources, config = edge.render(self.workdir, t, nr_db)
        config.write_text(_traced_to(config.read_text(), self._zipkin_endpoint()))
        # not even one inherited from the launcher's environment: the edge's API is public
        without_tokens = {
            k: v for k, v in env.items() if k not in ("DAPR_API_TOKEN", "APP_API_TOKEN")
        }
        self._add(
            f"{EDGE}-daprd",
            [
                *edge.daprd_argv(self.bin_dir / "daprd", t, resources, config),
                *self._mtls(sidecar=True),
                "--log-level",
                self.log_level,
            ],
            f"http401://127.0.0.1:{t.edge_dapr_http}/v1.0/healthz",
            {**without_tokens, **self._sentry_token(EDGE)},
            late_env=self._trust_anchors if self.security else None,
        )
        # nginx on the public port, in front of the edge's daprd (daprshop.front)
        nginx = front.binary()
        if nginx is None:
            raise StackError(front.MISSING)
        conf = front.render(self.workdir, t, self.logs, self.edge_rate)
        self._add(f"{EDGE}-nginx", front.argv(nginx, conf), front.health(t), without_tokens)

    def _tokens(self, app_id: str) -> dict[str, str]:
        """The tokens an app and its sidecar share: the app sends DAPR_API_TOKEN to the
        sidecar, the sidecar sends APP_API_TOKEN to the app."""
        if not self.security:
            return {SECURITY_ENV: "off"}
        return {
            "DAPR_API_TOKEN": self.credentials.api_tokens[app_id],
            "APP_API_TOKEN": self.credentials.app_tokens[app_id],
        }

    def _add(
        self,
        name: str,
        argv: list[str],
        health: str,
        env: dict[str, str],
        late_env: Callable[[], dict[str, str]] | None = None,
    ) -> None:
        liveness = self.liveness
        if name in LIVENESS_FAILURES:
            liveness = Liveness(liveness.every_s, max(liveness.failures, LIVENESS_FAILURES[name]))
        self.procs[name] = Proc(
            name,
            argv,
            health,
            env,
            Restarts(self.backoff),
            probes=Probes(liveness),
            late_env=late_env,
        )

    # -- lifecycle ------------------------------------------------------------------------
    def start(self, timeout: float = 90.0) -> None:
        """Start every process, then wait until each reports healthy; stop all on failure."""
        for sub in ("logs", "redis", "scheduler-etcd", "sentry"):
            (self.workdir / sub).mkdir(parents=True, exist_ok=True)
        (self.workdir / "sentry").chmod(0o700)
        try:  # once per start: a restart by the supervisor runs the same binary
            go = [p for p in self.programs.values() if isinstance(p, launch.GoApp)]
            launch.build(go, self.app_bin)
        except launch.BuildError as err:
            raise StackError(str(err)) from err
        self._define()
        try:
            for name in EARLY:
                if name in self.procs:
                    self._spawn(self.procs[name])
            # Redis and Sentry first (Sentry makes the CA the others trust), then the
            # control plane, then the apps and sidecars.
            for stage in INFRA_STAGES:
                names = [n for n in stage if n in self.infra]
                for name in names:
                    self._spawn(self.procs[name])
                self._wait([self.procs[n] for n in names], timeout)
            staged = {n for stage in INFRA_STAGES for n in stage}
            # One sidecar alone first, until it is initialized: Dapr's SQLite name resolver
            # migrates its database as it starts, and sidecars migrating at once can fail it
            # (`database is locked (SQLITE_BUSY)`, seen under load): that sidecar then runs,
            # healthy, but never registers, and no one can call its app.
            first = next((p for n, p in self.procs.items() if n.endswith("-daprd")), None)
            if first is not None and first.popen is None:
                self._spawn(first)
                self._wait([first], timeout, health=_initialized)
            for name, proc in self.procs.items():
                if proc.popen is None and name not in staged:
                    self._spawn(proc)
            self._wait([p for p in self.procs.values() if p.popen is not None], timeout)
        except BaseException:
            self.stop()
            raise
        with self._lock:
            for proc in self.procs.values():
                if proc.popen is not None:
                    self._set(proc, "running")
                    proc.restarts.healthy(time.monotonic())
            self._write_status()
        if self.supervise:
            self._supervisor = threading.Thread(
                target=self._supervise, name="daprshop-supervisor", daemon=True
            )
            self._supervisor.start()
            self._prober = threading.Thread(
                target=self._probe_liveness, name="daprshop-liveness", daemon=True
            )
            self._prober.start()

    # -- supervision ----------------------------------------------------------------------
    def _supervise(self) -> None:
        while not self._stopping.wait(TICK_S):
            try:
                self.tick()
            except Exception:  # one bad tick must not end supervision (nor its children)
                log.exception("supervisor tick failed")

    def _probe_liveness(self) -> None:
        """Kill a running process that failed its health check `failures` times in a row;
        the supervisor then restarts it like any crash."""
        while not self._stopping.wait(self.liveness.every_s):
            with self._lock:
                running = [
                    (p, p.popen)
                    for p in self.procs.values()
                    if p.state == "running" and not p.held and p.popen is not None
                ]
            results = []
            for p, popen in running:  # each probe may take its 2 s time-out: stop in between
                if self._stopping.is_set():
                    return
                results.append((p, popen, _healthy(p.health)))
            with self._lock:
                if self._stopping.is_set():
                    return
                for proc, popen, ok in results:
                    if proc.popen is not popen or proc.state != "running" or proc.held:
                        continue
                    assert proc.probes is not None
                    if proc.probes.result(ok) and popen.poll() is None:
                        proc.killed_for = (
                            f"failed {proc.probes.policy.failures} health checks in a row "
                            f"({proc.health})"
                        )
                        log.warning(
                            "%s (pid %d) %s: killing it", proc.name, popen.pid, proc.killed_for
                        )
                        _signal_group(popen.pid, signal.SIGKILL)

    def tick(self) -> None:
        """Notice exits, restart what has waited out its back-off, mark restarts healthy."""
        now = time.monotonic()
        with self._lock:
            if self._stopping.is_set():
                return
            changed = False
            for proc in self.procs.values():
                if proc.held or proc.popen is None:
                    continue
                if proc.state in ("running", "restarting") and proc.popen.poll() is not None:
                    self._exited(proc, now)
                    changed = True
                elif proc.state == "backing off" and now >= (proc.restart_at or now):
                    self._spawn(proc)
                    proc.restarts.total += 1
                    proc.restart_at = None
                    self._set(proc, "restarting", now)
                    changed = True
            starting = [
                (p, p.popen)
                for p in self.procs.values()
                if p.state == "restarting" and p.popen is not None
            ]
            if changed:
                self._write_status()
        # Health checks take up to 2 s each: outside the lock, so kill() never waits on them.
        healthy = [(p, popen) for p, popen in starting if _healthy(p.health)]
        with self._lock:
            for proc, popen in healthy:
                if proc.popen is popen and proc.state == "restarting" and not proc.held:
                    now = time.monotonic()
                    proc.restarts.healthy(now)
                    self._set(proc, "running", now)
                    log.info(
                        "%s is back (pid %d, restart %d), healthy %.1fs after it exited",
                        proc.name,
                        popen.pid,
                        proc.restarts.total,
                        now - proc.died,
                    )
            if healthy:
                self._write_status()

    def _exited(self, proc: Proc, now: float) -> None:
        assert proc.popen is not None
        _signal_group(proc.popen.pid, signal.SIGKILL)  # what it left (nginx's worker), if any
        up, proc.died = now - proc.changed, now
        proc.last_exit = describe_exit(proc.popen.returncode)
        if proc.killed_for:
            proc.last_exit, proc.killed_for = f"{proc.last_exit}: {proc.killed_for}", None
        proc.exited_at = time.time()
        delay = proc.restarts.exited(now)
        proc.restart_at = now + delay
        self._set(proc, "backing off", now)
        log.warning(
            "%s (pid %d) exited: %s after %.1fs; restart %d in %.1fs (%d in a row). "
            "Last log lines (%s):\n%s",
            proc.name,
            proc.popen.pid,
            proc.last_exit,
            up,
            proc.restarts.total + 1,
            delay,
            proc.restarts.in_a_row,
            self.logs / f"{proc.name}.log",
            "\n".join("    " + line for line in proc.log_tail(self.logs, 10).splitlines()),
        )

    def _set(self, proc: Proc, state: str, now: float | None = None) -> None:
        proc.state, proc.since = state, time.time()
        proc.changed = time.monotonic() if now is None else now

    def _write_status(self) -> None:
        write_status(
            self.workdir,
            {
                n: {
                    "state": "stopped" if p.held else p.state,
                    "pid": p.popen.pid if p.popen and p.popen.poll() is None else None,
                    "restarts": p.restarts.total,
                    "since": p.since,
                    "last_exit": p.last_exit,
                    "exited_at": p.exited_at,
                    "restart_at": (
                        time.time() + p.restart_at - time.monotonic() if p.restart_at else None
                    ),
                }
                for n, p in self.procs.items()
            },
        )

    def _spawn(self, proc: Proc) -> None:
        log = open(self.logs / f"{proc.name}.log", "ab")  # noqa: SIM115 - owned by the child
        env = {**proc.env, **(proc.late_env() if proc.late_env else {})}
        proc.popen = subprocess.Popen(
            proc.argv,
            env=env,
            cwd=REPO,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )
        log.close()
        self._write_pids()

    def _wait(
        self, procs: list[Proc], timeout: float, health: Callable[[Proc], str] | None = None
    ) -> None:
        """Until each of `procs` answers its health check (`health`: another URL to ask)."""
        deadline = time.monotonic() + timeout
        pending = list(procs)
        while pending:
            for proc in list(pending):
                self._raise_if_dead(proc)
                if _healthy(health(proc) if health else proc.health):
                    pending.remove(proc)
            if pending and time.monotonic() > deadline:
                names = ", ".join(p.name for p in pending)
                detail = "\n".join(f"--- {p.name}.log:\n{p.log_tail(self.logs)}" for p in pending)
                raise StackError(f"not healthy after {timeout:.0f}s: {names}\n{detail}")
            if pending:
                time.sleep(0.2)  # polling interval of a deadline-bound wait

    def _raise_if_dead(self, proc: Proc) -> None:
        if proc.popen is not None and proc.popen.poll() is not None:
            raise StackError(
                f"{proc.name} exited with code {proc.popen.returncode}; last log lines "
                f"({self.logs / (proc.name + '.log')}):\n{proc.log_tail(self.logs)}"
            )

    def kill(self, name: str, sig: int = signal.SIGKILL, *, hold: bool = True) -> None:
        """Send `sig` to one process group and reap it. With `hold` (a test taking a process
        down on purpose) the supervisor leaves it down until `respawn`; without, it is a
        crash like any other and the supervisor restarts it."""
        with self._lock:
            proc = self.procs[name]
            proc.held = hold
            if proc.popen is not None and proc.popen.poll() is None:
                _signal_group(proc.popen.pid, sig)
                proc.popen.wait(timeout=30)
            if hold:
                proc.restart_at = None
                self._set(proc, "stopped")
                self._write_status()

    def wait_restarted(self, name: str, after: int, timeout: float = 90.0) -> None:
        """Wait until the supervisor has restarted `name` more than `after` times in all and
        it is healthy again (a crash test's "it came back")."""
        proc, deadline = self.procs[name], time.monotonic() + timeout
        while not (proc.restarts.total > after and proc.state == "running"):
            if time.monotonic() > deadline:
                raise StackError(
                    f"{name} not restarted by the supervisor within {timeout:.0f} s "
                    f"(state {proc.state}, {proc.restarts.total} restarts, last exit "
                    f"{proc.last_exit}); see {self.logs / (name + '.log')}"
                )
            time.sleep(0.1)  # polling interval of a deadline-bound wait

    def respawn(self, *names: str, timeout: float = 90.0) -> None:
        """Start processes held down by `kill` again (an app with its sidecar together: each
        waits for the other), then wait until all are healthy."""
        procs = [self.procs[n] for n in names]
        with self._lock:
            for proc in procs:
                if not proc.held or (proc.popen is not None and proc.popen.poll() is None):
                    raise StackError(f"{proc.name} was not stopped by kill()")
            for proc in procs:
                self._spawn(proc)
                self._set(proc, "restarting")
        self._wait(procs, timeout)
        with self._lock:
            for proc in procs:
                proc.held = False
                proc.restarts.healthy(time.monotonic())
                self._set(proc, "running")
            self._write_status()

    def stop(self, grace: float = 10.0) -> None:
        """SIGTERM every group, apps first and Redis last; SIGKILL what is left after `grace`."""
        self._stopping.set()
        with self._lock:  # waits for a tick in progress; no restart after this
            self._stop(grace)
        for thread in (self._supervisor, self._prober):
            if thread is not None:
                thread.join(timeout=30)

    def _stop(self, grace: float) -> None:
        running = [
            p.popen
            for p in reversed(list(self.procs.values()))
            if p.popen is not None and p.popen.poll() is None
        ]
        for popen in running:
            _signal_group(popen.pid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        for popen in running:
            try:
                popen.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                _signal_group(popen.pid, signal.SIGKILL)
                popen.wait(timeout=10)
        for p in self.procs.values():  # children of a killed leader may outlive it
            if p.popen is not None:
                _signal_group(p.popen.pid, signal.SIGKILL)
        (self.workdir / "pids.json").unlink(missing_ok=True)
        (self.workdir / STATUS_FILE).unlink(missing_ok=True)

    def _write_pids(self) -> None:
        pids = {n: [p.popen.pid, p.argv[0]] for n, p in self.procs.items() if p.popen}
        (self.workdir / "pids.json").write_text(json.dumps(pids, indent=1))

    # -- what users see -------------------------------------------------------------------
    def traces_url(self) -> str:
        """Zipkin's UI and API (`/zipkin/traces/<id>`, `/api/v2/trace/<id>`)."""
        return f"http://127.0.0.1:{self.topo.zipkin}"

    def urls(self) -> dict[str, dict[str, str]]:
        """Each instance's app and sidecar URLs and logs, by process name (an app-id for an
        app's first instance)."""
        out = {}
        for name, (_app_id, p) in self.instances.items():
            out[name] = {
                "app": f"http://127.0.0.1:{p.app}",
                "dapr": f"http://127.0.0.1:{p.http}",
                "log": str(self.logs / f"{name}.log"),
                "sidecar_log": str(self.logs / f"{name}-daprd.log"),
            }
        return out


def _initialized(sidecar: Proc) -> str:
    """A sidecar's runtime initialized, its name resolution included: `/v1.0/healthz/outbound`
    answers without waiting for the app (`/v1.0/healthz` does)."""
    port = sidecar.argv[sidecar.argv.index("--dapr-http-port") + 1]
    return f"http://127.0.0.1:{port}/v1.0/healthz/outbound"


def _traced_to(config: str, endpoint: str | None) -> str:
    """`config` with its spans sent to the Zipkin at `endpoint`, or to none (samplingRate
    stays: daprd still makes spans and passes their context on)."""
    data = yaml.safe_load(config)
    if endpoint is None:
        data["spec"]["tracing"].pop("zipkin", None)
    else:
        data["spec"]["tracing"]["zipkin"] = {"endpointAddress": endpoint}
    return str(yaml.safe_dump(data, sort_keys=False))


def _without_access_control(config: str) -> str:
    data = yaml.safe_load(config)
    data["spec"].pop("accessControl", None)
    return str(yaml.safe_dump(data, sort_keys=False))


def _signal_group(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def _is(pid: int, exe: str) -> bool:
    """Whether `pid` still runs `exe` (and is not a recycled pid); redis and nginx rewrite
    argv[0] ("redis-server 127.0.0.1:6380", "nginx: master process ...")."""
    try:
        argv0 = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0].decode()
    except OSError:
        return False
    return bool(argv0) and Path(argv0.split(" ")[0].rstrip(":")).name == Path(exe).name


def is_running(pid: int) -> bool:
    """Alive and not a zombie (an exited child its parent has not reaped yet)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(") ", 1)[1][0] != "Z"
    except (OSError, IndexError):
        return False


def _wait_gone(pids: Iterable[int], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    for pid in pids:
        while is_running(pid) and time.monotonic() < deadline:
            time.sleep(0.1)  # waiting for an exit, bounded by the deadline


def running_launcher(workdir: Path) -> int | None:
    """The pid of a `daprshop run` still running in `workdir`, if any."""
    launcher = workdir / "launcher.json"
    if not launcher.exists():
        return None
    pid, exe = json.loads(launcher.read_text())
    return int(pid) if _is(pid, exe) else None


def down(workdir: Path) -> list[str]:
    """Stop a launcher running in `workdir` (it then stops its stack), and anything it left
    running if it was killed -9. Returns the names of what was still running."""
    stopped = []
    pid = running_launcher(workdir)
    if pid is not None:
        os.kill(pid, signal.SIGTERM)
        _wait_gone([pid], 30)
        stopped.append("launcher")
    (workdir / "launcher.json").unlink(missing_ok=True)
    pidfile = workdir / "pids.json"
    if pidfile.exists():
        procs = json.loads(pidfile.read_text())
        for name, (pid, exe) in procs.items():
            if _is(pid, exe):
                _signal_group(pid, signal.SIGTERM)
                stopped.append(name)
        _wait_gone([pid for pid, _exe in procs.values()], 10)
        for pid, exe in procs.values():
            if _is(pid, exe):
                _signal_group(pid, signal.SIGKILL)
        pidfile.unlink(missing_ok=True)
    (workdir / STATUS_FILE).unlink(missing_ok=True)
    return stopped

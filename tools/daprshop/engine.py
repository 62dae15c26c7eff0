"""Make a Docker engine and Compose v2 available, idempotently: install docker.io and
debootstrap (root on Debian), start dockerd when none answers, build Compose from a pinned
Go module when `docker compose` is missing. `plan()` decides; the rest does the I/O."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from daprshop import composebuild
from daprshop.runtime import cache_root

PACKAGES = {"dockerd": "docker.io", "debootstrap": "debootstrap"}  # command -> Debian package
START_DEADLINE_S = 60.0


class EngineError(SystemExit):
    """A step failed or cannot be taken here; the message says what to do."""


@dataclass(frozen=True)
class Host:
    """What exists, as `probe()` finds it."""

    missing: tuple[str, ...]  # commands of PACKAGES not on PATH
    can_apt: bool  # root, with apt-get
    engine_up: bool  # `docker info` answers
    compose: str | None  # what `docker compose version --short` prints, None if it fails
    compose_built: bool  # the pinned Compose is in the cache
    plugin: str  # the CLI plugin file: "none", "ours" (links to the cache) or "other"


def plan(host: Host) -> list[str]:
    """The steps to take, in order: install, start-dockerd, build-compose, link-compose."""
    steps: list[str] = []
    if host.missing:
        if not host.can_apt:
            pkgs = " ".join(PACKAGES[c] for c in host.missing)
            raise EngineError(
                f"missing: {', '.join(host.missing)}. Install them (Debian: `sudo apt-get install"
                f" {pkgs}`; elsewhere Docker Engine from https://docs.docker.com/engine/install/)"
                " and retry."
            )
        steps.append("install")
    if not host.engine_up:
        steps.append("start-dockerd")
    if host.compose is None or not host.compose.lstrip("v").startswith("2."):
        if host.plugin == "other":
            raise EngineError(
                f"{composebuild.plugin_path()} is not Compose v2 (`docker compose version`"
                f" gave {host.compose or 'an error'}): move it aside and retry, and daprshop"
                f" installs Compose {composebuild.VERSION} there."
            )
        if not host.compose_built:
            steps.append("build-compose")
        steps.append("link-compose")
    return steps


def _ok(*cmd: str) -> subprocess.CompletedProcess[str] | None:
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out if out.returncode == 0 else None


def probe() -> Host:
    compose = _ok("docker", "compose", "version", "--short")
    plugin = composebuild.plugin_path()
    ours = plugin.is_symlink() and plugin.resolve() == composebuild.binary().resolve()
    return Host(
        missing=tuple(c for c in PACKAGES if shutil.which(c) is None),
        can_apt=os.geteuid() == 0 and shutil.which("apt-get") is not None,
        engine_up=_ok("docker", "info") is not None,
        compose=compose.stdout.strip() if compose else None,
        compose_built=composebuild.binary().is_file(),
        plugin="ours" if ours else ("other" if plugin.exists() or plugin.is_symlink() else "none"),
    )


def install(missing: tuple[str, ...]) -> None:
    pkgs = [PACKAGES[c] for c in missing]
    started = time.monotonic()
    print(f"==> installing {' '.join(pkgs)} (apt-get)", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for cmd in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", *pkgs]):
        out = subprocess.run(cmd, env=env, capture_output=True, text=True)
        if out.returncode != 0:
            raise EngineError(
                f"`{' '.join(cmd)}` failed (exit {out.returncode}):\n{out.stderr[-2000:]}"
                "\nCheck that the Debian mirror is reachable, or install the packages yourself."
            )
    print(f"  installed in {time.monotonic() - started:.0f}s", flush=True)


def dockerd_log() -> Path:
    return cache_root() / "dockerd.log"


def pid_file() -> Path:
    return cache_root() / "dockerd.pid"


def start_dockerd(deadline_s: float = START_DEADLINE_S) -> int:
    """Start dockerd in its own session, wait until `docker info` answers; return its pid."""
    log = dockerd_log()
    log.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    print(f"==> starting dockerd (log: {log})", flush=True)
    with log.open("ab") as out:
        proc = subprocess.Popen(
            ["dockerd"], stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    pid_file().write_text(str(proc.pid))
    while time.monotonic() - started < deadline_s:
        if proc.poll() is not None:
            pid_file().unlink(missing_ok=True)
            tail = "\n".join(log.read_text(errors="replace").splitlines()[-15:])
            raise EngineError(f"dockerd exited with {proc.returncode}; end of {log}:\n{tail}")
        if _ok("docker", "info") is not None:
            print(f"  dockerd (pid {proc.pid}) answers after {time.monotonic() - started:.1f}s")
            return proc.pid
        time.sleep(0.5)
    raise EngineError(
        f"dockerd (pid {proc.pid}) did not answer `docker info` within {deadline_s:.0f}s;"
        f" see {log}. `daprshop engine --stop` stops it."
    )


def stop_dockerd(deadline_s: float = 30.0) -> int | None:
    """Stop the dockerd that `start_dockerd` started (its pid file), not any other one."""
    path = pid_file()
    if not path.is_file():
        return None
    pid = int(path.read_text())
    try:
        os.kill(pid, 15)
    except ProcessLookupError:
        path.unlink()
        return None
    until = time.monotonic() + deadline_s
    while time.monotonic() < until and Path(f"/proc/{pid}").exists():
        time.sleep(0.2)
    path.unlink()
    return pid


@dataclass(frozen=True)
class Engine:
    started_pid: int | None  # the dockerd this call started, which the caller must stop
    compose: str


def ensure_engine() -> Engine:
    host = probe()
    steps = plan(host)
    started_pid = None
    if "install" in steps:
        install(host.missing)
    if "start-dockerd" in steps:
        started_pid = start_dockerd()
    if "build-compose" in steps:
        composebuild.build()
    if "link-compose" in steps:
        composebuild.link_plugin()
    compose = _ok("docker", "compose", "version", "--short")
    if compose is None:
        raise EngineError("`docker compose version` still fails; see the output above.")
    version = compose.stdout.strip()
    print(
        f"Docker engine: {'started by us, pid ' + str(started_pid) if started_pid else 'running'};"
        f" Compose {version}" + ("" if steps else " (nothing to do)"),
        flush=True,
    )
    return Engine(started_pid, version)

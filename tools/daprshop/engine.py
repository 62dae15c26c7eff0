"""Make a Docker engine and Compose v2 available, idempotently: install docker.io and
debootstrap (root on Debian), start dockerd when none answers, build Compose from a pinned
Go module when `docker compose` is missing. `plan()` decides; the rest does the I/O."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from dataclasses import dataclass

from daprshop import composebuild
from daprshop.dockerd import EngineError, ok, start_dockerd
from daprshop.runtime import cache_lock

PACKAGES = {"dockerd": "docker.io", "debootstrap": "debootstrap"}  # command -> Debian package


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


def probe() -> Host:
    compose = ok("docker", "compose", "version", "--short")
    plugin = composebuild.plugin_path()
    ours = plugin.is_symlink() and plugin.resolve() == composebuild.binary().resolve()
    engine_up = ok("docker", "info") is not None
    # An engine that answers (remote, rootless, Docker Desktop) needs no local dockerd.
    needed = [c for c in PACKAGES if c != "dockerd" or not engine_up]
    return Host(
        missing=tuple(c for c in needed if shutil.which(c) is None),
        can_apt=os.geteuid() == 0 and shutil.which("apt-get") is not None,
        engine_up=engine_up,
        compose=compose.stdout.strip() if compose else None,
        compose_built=composebuild.binary().is_file(),
        plugin="ours" if ours else ("other" if plugin.exists() or plugin.is_symlink() else "none"),
    )


def install(missing: tuple[str, ...]) -> None:
    pkgs = [PACKAGES[c] for c in missing]
    started = time.monotonic()
    print(f"==> installing {' '.join(pkgs)} (apt-get)", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    # Another apt-get (a developer's, a second setup) holds dpkg's lock: wait for it.
    apt = ["apt-get", "-o", "DPkg::Lock::Timeout=300"]
    for cmd in ([*apt, "update", "-qq"], [*apt, "install", "-y", "-qq", *pkgs]):
        out = subprocess.run(cmd, env=env, capture_output=True, text=True)
        if out.returncode != 0:
            raise EngineError(
                f"`{' '.join(cmd)}` failed (exit {out.returncode}):\n{out.stderr[-2000:]}"
                "\nCheck that the Debian mirror is reachable, or install the packages yourself."
            )
    print(f"  installed in {time.monotonic() - started:.0f}s", flush=True)


@dataclass(frozen=True)
class Engine:
    """What `ensure_engine` left: the dockerd it started, if any, and Compose's version."""

    started_pid: int | None  # the dockerd this call started, which the caller must stop
    compose: str


def ensure_engine() -> Engine:
    host = probe()
    steps = plan(host)
    started_pid = None
    if "install" in steps:
        install(host.missing)
    if "start-dockerd" in steps:
        # Where no policy-rc.d forbids it, docker.io's postinst starts dockerd through its
        # init script: that one answers now, and is not ours to stop.
        if "install" in steps and ok("docker", "info") is not None:
            print("  dockerd was started by the docker.io package; daprshop will not stop it")
        else:
            started_pid = start_dockerd()
    if "build-compose" in steps:
        with cache_lock("compose"):
            if not composebuild.binary().is_file():  # or built while this one waited
                composebuild.build()
    if "link-compose" in steps:
        composebuild.link_plugin()
    compose = ok("docker", "compose", "version", "--short")
    if compose is None:
        raise EngineError("`docker compose version` still fails; see the output above.")
    version = compose.stdout.strip()
    print(
        f"Docker engine: {'started by us, pid ' + str(started_pid) if started_pid else 'running'};"
        f" Compose {version}" + ("" if steps else " (nothing to do)"),
        flush=True,
    )
    return Engine(started_pid, version)

"""Build Docker Compose v2 from its Go module at a pinned version, cached in
~/.cache/daprshop/compose/<version>/, and install it as the `docker compose` CLI plugin.

`go install module@version` refuses compose (its go.mod has `exclude` directives), so the
module source is downloaded with `go mod download` and built from its own directory."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path

from daprshop.runtime import cache_root, run_go

MODULE = "github.com/docker/compose/v2"
VERSION = "v2.40.3"


class BuildError(SystemExit):
    """The build failed; the message says what to check."""


def binary(version: str = VERSION) -> Path:
    return cache_root() / "compose" / version / "docker-compose"


def plugin_path() -> Path:
    config = Path(os.environ.get("DOCKER_CONFIG", Path.home() / ".docker"))
    return config / "cli-plugins" / "docker-compose"


def ldflags(version: str) -> str:
    """What compose's own Makefile stamps, so `docker compose version` prints `version`."""
    return f"-s -w -X {MODULE}/internal.Version={version}"


def _run_go(cmd: list[str], cwd: Path | None = None) -> str:
    if shutil.which("go") is None:
        raise BuildError("Go is not installed: install Go >= 1.24 (https://go.dev/dl) and retry.")
    done = run_go(cmd, "compose", cwd=cwd)
    if done.returncode != 0:
        raise BuildError(
            f"`{' '.join(cmd)}` failed (exit {done.returncode}). Last output:\n"
            + "\n".join(done.tail)
            + "\nCheck that the Go module proxy is reachable (GOPROXY)."
        )
    return done.stdout


def build(version: str = VERSION) -> Path:
    out = binary(version)
    started = time.monotonic()
    print(f"Building Docker Compose {version} from Go modules (cold: ~100 s on 2 cores)")
    print(f"==> go mod download {MODULE}@{version}", flush=True)
    info = json.loads(_run_go(["go", "mod", "download", "-json", f"{MODULE}@{version}"]))
    source = Path(info["Dir"])
    print(f"==> go build ./cmd in {source}", flush=True)
    partial = out.with_name(out.name + ".partial")
    partial.parent.mkdir(parents=True, exist_ok=True)
    flags = ["-v", "-trimpath", f"-ldflags={ldflags(version)}"]
    _run_go(["go", "build", *flags, "-o", str(partial), "./cmd"], cwd=source)
    partial.rename(out)
    print(f"Docker Compose {version} built in {time.monotonic() - started:.0f}s: {out}")
    return out


def link_plugin(version: str = VERSION) -> Path:
    """Point the `docker compose` plugin at the cached binary; check what it prints."""
    link = plugin_path()
    link.parent.mkdir(parents=True, exist_ok=True)
    link.unlink(missing_ok=True)
    link.symlink_to(binary(version))
    cmd = ["docker", "compose", "version", "--short"]
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.stdout.strip().lstrip("v") != version.lstrip("v"):
        raise BuildError(
            f"{link} -> {binary(version)} but `docker compose version --short` printed"
            f" {out.stdout.strip() or out.stderr.strip()!r}, not {version}."
        )
    print(f"==> {link} -> {binary(version)} (docker compose {version})", flush=True)
    return link

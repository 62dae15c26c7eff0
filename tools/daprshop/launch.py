"""How each app is started, as data: a Python package served by uvicorn, or a Go package
built into one static binary. Read by the launcher (stack.py), by deploy/render.py (dapr.yaml,
the Dockerfiles it renders and the ones it leaves alone, compose's build arguments,
Kubernetes' container env) and by the deploy checks, so an app in another language is one
entry in GO_APPS (README "How to add a service in another language").
"""

from __future__ import annotations

import shutil
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from daprshop.runtime import REPO, run_go
from daprshop.topology import APP_IDS

# app-id -> its main package, built from the repository root (one Go module: go.mod).
GO_APPS = {"shipping": "./services/shipping/cmd/shipping"}
# Where `make setup` builds them for dapr.yaml (`dapr run -f`); make run's stack builds into
# its own workdir's bin/, which for make run (workdir .run) is the same directory.
SETUP_BIN = ".run/bin"
GO_MISSING = (
    "`go` is not on PATH, and {apps} {is_are} written in Go: install Go >= 1.24"
    " (https://go.dev/dl; Debian bookworm's golang-go 1.19 is too old) and retry."
)


class BuildError(RuntimeError):
    """An app could not be built; the message says which, why and what to do."""


@dataclass(frozen=True)
class PythonApp:
    """A FastAPI app: `<app>.main:create_app`, served by uvicorn from the venv; `path`:
    directories put first on its PYTHONPATH (another version of its packages)."""

    app_id: str
    path: tuple[Path, ...] = ()

    @property
    def factory(self) -> str:
        return f"{self.app_id}.main:create_app"

    def argv(self, bin_dir: Path, port: int) -> list[str]:
        # bin_dir unused: the package is installed in the venv (make setup)
        return [
            *(sys.executable, "-m", "uvicorn", self.factory, "--factory"),
            *("--host", "127.0.0.1", "--port", str(port)),
            *("--no-access-log", "--log-level", "warning"),
        ]

    def env(self) -> dict[str, str]:
        found = {"PYTHONPATH": ":".join(map(str, self.path))} if self.path else {}
        return {"PYTHONUNBUFFERED": "1", **found}


@dataclass(frozen=True)
class GoApp:
    """A Go main package, built to `<bin_dir>/<app-id>`; it reads the same environment as
    the Python apps, and APP_HOST for its listen address."""

    app_id: str
    package: str

    def binary(self, bin_dir: Path) -> Path:
        return bin_dir / self.app_id

    def argv(self, bin_dir: Path, port: int) -> list[str]:
        return [str(self.binary(bin_dir))]  # its port: APP_PORT, from env()'s caller

    def env(self) -> dict[str, str]:
        return {"APP_HOST": "127.0.0.1"}


App = PythonApp | GoApp


def program(app_id: str) -> App:
    package = GO_APPS.get(app_id)
    return GoApp(app_id, package) if package else PythonApp(app_id)


def programs(app_ids: Iterable[str] = APP_IDS) -> dict[str, App]:
    return {a: program(a) for a in app_ids}


def go_apps(app_ids: Iterable[str] = APP_IDS) -> list[GoApp]:
    return [a for a in programs(app_ids).values() if isinstance(a, GoApp)]


def python_apps(app_ids: Iterable[str] = APP_IDS) -> list[str]:
    return [a for a, how in programs(app_ids).items() if isinstance(how, PythonApp)]


def build(go: Iterable[GoApp], bin_dir: Path) -> None:
    """`go build` each app into bin_dir, from the repository root, with a line per app (and
    run_go's progress every 15 s); Go's build cache makes a rebuild of unchanged code ~1 s."""
    go = list(go)
    if not go:
        return
    if shutil.which("go") is None:
        names = ", ".join(a.app_id for a in go)
        raise BuildError(GO_MISSING.format(apps=names, is_are="is" if len(go) == 1 else "are"))
    bin_dir.mkdir(parents=True, exist_ok=True)
    for a in go:
        started = time.monotonic()
        print(f"==> building {a.app_id} (Go) ... {a.package} -> {a.binary(bin_dir)}", flush=True)
        cmd = ["go", "build", "-v", "-trimpath", "-o", str(a.binary(bin_dir)), a.package]
        done = run_go(cmd, a.app_id, cwd=REPO)
        if done.returncode != 0:
            raise BuildError(
                f"`{' '.join(cmd)}` failed (exit {done.returncode}) in {REPO}. Last output:\n"
                + "\n".join(done.tail)
                + "\nFix the build (`go vet ./...`), or check that the Go module proxy is"
                " reachable (GOPROXY) if a module failed to download."
            )
        print(f"  [{a.app_id}] built in {time.monotonic() - started:.1f}s", flush=True)


def main(argv: list[str]) -> int:
    """`daprshop build-apps [DIR]`: the Go apps into DIR (default .run/bin), for dapr.yaml."""
    bin_dir = Path(argv[0]) if argv else REPO / SETUP_BIN
    try:
        build(go_apps(), bin_dir)
    except BuildError as err:
        print(f"daprshop: {err}", file=sys.stderr)
        return 1
    return 0

"""Find or build the Dapr runtime binaries (daprd, placement, scheduler, sentry).

Order of preference: the cache (~/.cache/daprshop/dapr/<version>/bin), then a user's
`~/.dapr/bin` whose daprd has the pinned minor version, then a Go build of the wrapper
module in tools/dapr. The build shows progress and ends with one line naming the directory.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
WRAPPER = REPO / "tools" / "dapr"
BINARIES = ("daprd", "placement", "scheduler", "sentry")
PACKAGES = {
    "daprd": "./cmd/daprd",
    "placement": "github.com/dapr/dapr/cmd/placement",
    "scheduler": "github.com/dapr/dapr/cmd/scheduler",
    "sentry": "github.com/dapr/dapr/cmd/sentry",  # the CA of mTLS identities
}
# Only the Kubernetes control plane runs these (daprshop cluster build), never `make run`.
K8S_PACKAGES = {
    "operator": "github.com/dapr/dapr/cmd/operator",
    "injector": "github.com/dapr/dapr/cmd/injector",
}
BUILD_TAGS = "stablecomponents"


def pinned_version() -> str:
    return (WRAPPER / "VERSION").read_text().strip()


def cache_root() -> Path:
    """Where daprshop keeps what it builds outside the repository (`DAPRSHOP_CACHE` moves it)."""
    return Path(os.environ.get("DAPRSHOP_CACHE", Path.home() / ".cache" / "daprshop"))


@contextlib.contextmanager
def cache_lock(what: str) -> Iterator[None]:
    """Held while building `what` into the cache: two clones set up at once (CI beside a
    developer's checkout) build it once, the second waiting, instead of racing for one
    staging directory. Check the cache again once the lock is held."""
    path = cache_root() / "locks" / f"{what}.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print(f"==> waiting for another build of {what} to finish ({path})", flush=True)
            fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def cache_dir(version: str | None = None) -> Path:
    return cache_root() / "dapr" / (version or pinned_version()) / "bin"


def binary_version(path: Path) -> str | None:
    try:
        out = subprocess.run([str(path), "--version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip().splitlines()[-1] if out.returncode == 0 and out.stdout else None


def _complete(directory: Path) -> bool:
    return all((directory / name).is_file() for name in BINARIES)


def _same_minor(a: str | None, b: str) -> bool:
    return a is not None and a.lstrip("v").split(".")[:2] == b.split(".")[:2]


def find_runtime() -> Path | None:
    """Return a directory holding usable binaries of the pinned version, without building."""
    version = pinned_version()
    cached = cache_dir(version)
    if _complete(cached) and binary_version(cached / "daprd") == version:
        return cached
    user = Path.home() / ".dapr" / "bin"
    if _complete(user) and _same_minor(binary_version(user / "daprd"), version):
        return user
    return None


@dataclass
class GoRun:
    returncode: int
    stdout: str
    tail: list[str]  # the last 30 lines of stderr that were not downloads


def run_go(cmd: list[str], label: str, cwd: Path | None = None) -> GoRun:
    """Run a `go` command (CGO off), printing its module downloads as they happen and a
    line every 15 s with the packages compiled so far (`go build -v` names each one)."""
    started, counter, stop = time.monotonic(), [0], threading.Event()

    def tick() -> None:
        while not stop.wait(15):
            elapsed = time.monotonic() - started
            print(f"  [{label}] {counter[0]} packages compiled, {elapsed:.0f}s elapsed", flush=True)

    threading.Thread(target=tick, daemon=True).start()
    env = {**os.environ, "CGO_ENABLED": "0"}
    tail: list[str] = []
    stdout: list[str] = []
    pipe = subprocess.PIPE
    try:
        # `with` closes both pipes however it ends; stdout is read beside stderr, so
        # neither pipe can fill up and block go
        with subprocess.Popen(cmd, cwd=cwd, env=env, text=True, stdout=pipe, stderr=pipe) as proc:
            out, err = proc.stdout, proc.stderr
            assert out is not None and err is not None
            reader = threading.Thread(target=lambda: stdout.append(out.read()))
            reader.start()
            for line in err:
                if line.startswith("go: downloading"):
                    print("  " + line.rstrip(), flush=True)
                else:
                    counter[0] += 1
                    tail = [*tail, line.rstrip()][-30:]
            reader.join()
            rc = proc.wait()
    finally:
        stop.set()
    return GoRun(rc, "".join(stdout), tail)


def ldflags(version: str) -> str:
    return (
        f"-s -w -X github.com/dapr/dapr/pkg/buildinfo.version={version} "
        f"-X github.com/dapr/kit/logger.DaprVersion={version}"
    )


def build_one(name: str, out_dir: Path, version: str) -> None:
    """`go build` one binary of PACKAGES or K8S_PACKAGES into out_dir; exit on failure."""
    package = {**PACKAGES, **K8S_PACKAGES}[name]
    cmd = [
        "go",
        "build",
        "-v",
        "-trimpath",
        "-mod=readonly",
        f"-tags={BUILD_TAGS}",
        f"-ldflags={ldflags(version)}",
        "-o",
        str(out_dir / name),
        package,
    ]
    started = time.monotonic()
    print(f"==> building {name} ({package}, tags={BUILD_TAGS})", flush=True)
    done = run_go(cmd, name, cwd=WRAPPER)
    if done.returncode != 0:
        sys.exit(
            f"go build of {name} failed (exit {done.returncode}). Last output:\n"
            + "\n".join(done.tail)
            + "\nCheck that the Go module proxy is reachable (GOPROXY) and Go >= 1.26 is installed."
        )
    print(f"  [{name}] done in {time.monotonic() - started:.0f}s", flush=True)


def build_runtime() -> Path:
    if shutil.which("go") is None:
        sys.exit("Go is not installed: install Go >= 1.26 (https://go.dev/dl) and retry.")
    version = pinned_version()
    final = cache_dir(version)
    staging = final.with_name("bin.partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    # A cache from an older daprshop may lack a binary added since (sentry): keep the
    # binaries it has when its daprd is the pinned version, and build only what is missing.
    have = [n for n in BINARIES if (final / n).is_file()]
    if have and binary_version(final / "daprd") == version:
        for name in have:
            shutil.copy2(final / name, staging / name)
    missing = [n for n in BINARIES if not (staging / n).is_file()]
    started = time.monotonic()
    print(
        f"Building Dapr runtime {version} from Go modules: {', '.join(missing)} "
        "(cold: ~7 min on 2 cores for all four, measured)",
        flush=True,
    )
    for name in missing:
        build_one(name, staging, version)
    shutil.rmtree(final, ignore_errors=True)
    staging.rename(final)
    print(f"Dapr runtime {version} built in {time.monotonic() - started:.0f}s: {final}", flush=True)
    return final


def ensure_runtime() -> Path:
    found = find_runtime()
    if found is None:
        with cache_lock("dapr-runtime"):
            found = find_runtime()  # built while this one waited for the lock?
            if found is None:
                return build_runtime()
    print(f"Dapr runtime {pinned_version()}: {found} (cached, no build)", flush=True)
    return found


if __name__ == "__main__":
    ensure_runtime()

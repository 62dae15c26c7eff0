"""Build the local stand-ins for third-party images, from the recipes in deploy/standins/,
for machines that reach no container registry. Their names are clearly local
(`daprshop-standin/...`), never an upstream one; an image that exists is not rebuilt."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from daprshop import runtime, zipkin

RECIPES = runtime.REPO / "deploy" / "standins"
PREFIX = "daprshop-standin/"
PYTHON = PREFIX + "python:3.11-bookworm"
REDIS = PREFIX + "redis:bookworm"  # Debian's redis-server 7.0
HOST_CA = Path("/etc/ssl/certs/ca-certificates.crt")
RENDER = runtime.REPO / "deploy" / "render.py"  # the upstream pins the stand-ins follow
SUITE = "bookworm"


class StandinError(SystemExit):
    """A stand-in could not be built; the message says why and what to do."""


@dataclass(frozen=True)
class Standin:
    image: str  # the local name, never an upstream one
    upstream: str  # what it stands in for
    recipe: str  # the digest of its recipe (recipe_digest), carried as the image's LABEL
    build: Callable[[str], None] = field(repr=False)  # builds it, labelled with that digest


def dapr_image(version: str) -> str:
    return f"{PREFIX}dapr:{version}"  # stands in for daprio/daprd and daprio/dapr alike


def pin(name: str, render: str | None = None) -> str:
    """A version pinned in deploy/render.py (`ZIPKIN_IMAGE = "openzipkin/zipkin:3.5.1"` gives
    3.5.1, `LOCUST_VERSION = "2.47.0"` 2.47.0), read as text: render.py is a script."""
    text = RENDER.read_text() if render is None else render
    found = re.search(rf'^{name} = "(?:[\w./-]+:)?([\w.-]+)"$', text, re.MULTILINE)
    if found is None:
        raise StandinError(f"no {name} pin in deploy/render.py")
    return found.group(1)


def zipkin_image(version: str) -> str:
    return f"{PREFIX}zipkin:{version}"


def locust_image(version: str) -> str:
    return f"{PREFIX}locust:{version}"


def golang_image(version: str) -> str:
    return f"{PREFIX}golang:{version}"  # the host Go's version, e.g. 1.26.8


@dataclass(frozen=True)
class HostGo:
    """The host's Go toolchain, which the Go builder stand-in is made of."""

    root: Path  # go env GOROOT
    version: str  # go env GOVERSION without "go": 1.26.8
    proxy: str  # go env GOPROXY
    sumdb: str  # go env GOSUMDB


def host_go() -> HostGo:
    if shutil.which("go") is None:
        raise StandinError(
            "Go is not installed: the Go builder stand-in copies the host's toolchain;"
            " install Go >= 1.24 (https://go.dev/dl) and retry."
        )
    names = ("GOROOT", "GOVERSION", "GOPROXY", "GOSUMDB")
    out = subprocess.run(["go", "env", *names], capture_output=True, text=True)
    values = out.stdout.splitlines()
    if out.returncode != 0 or len(values) != len(names):
        raise StandinError(f"`go env {' '.join(names)}` failed: {out.stderr[-500:]}")
    root, version, proxy, sumdb = values
    return HostGo(Path(root), version.removeprefix("go"), proxy, sumdb)


def recipe_lines(path: Path) -> list[str]:
    """The non-blank, non-comment lines of a recipe file."""
    lines = (line.strip() for line in path.read_text().splitlines())
    return [line for line in lines if line and not line.startswith("#")]


LABEL = "daprshop.recipe"  # on each stand-in: the digest of the recipe it was built from


def recipe_digest(name: str, *inputs: str) -> str:
    """A digest of deploy/standins/<name>/ (every file's path and bytes) and of `inputs` (the
    versions it is built at, the digest of its base): a changed recipe means a rebuild."""
    h = hashlib.sha256()
    for path in sorted((RECIPES / name).rglob("*")):
        if path.is_file():
            h.update(str(path.relative_to(RECIPES)).encode() + b"\0" + path.read_bytes())
    for value in inputs:
        h.update(b"\0" + value.encode())
    return h.hexdigest()[:16]


def built_from(image: str) -> str | None:
    """The recipe digest `image` carries; None when the engine has no such image."""
    out = subprocess.run(
        ["docker", "image", "inspect", "-f", f'{{{{index .Config.Labels "{LABEL}"}}}}', image],
        capture_output=True,
        text=True,
    )
    return out.stdout.strip() if out.returncode == 0 else None


def _run(cmd: list[str], what: str) -> None:
    """Run `cmd`, printing the elapsed time every 15 s; on failure, exit with its output."""
    started, stop = time.monotonic(), threading.Event()

    def tick() -> None:
        while not stop.wait(15):
            print(f"  [{what}] {time.monotonic() - started:.0f}s", flush=True)

    threading.Thread(target=tick, daemon=True).start()
    try:
        out = subprocess.run(cmd, capture_output=True, text=True)
    finally:
        stop.set()
    if out.returncode != 0:
        raise StandinError(
            f"{what} failed (exit {out.returncode}): {' '.join(cmd[:4])} ...\n"
            + (out.stderr or out.stdout)[-2000:]
        )


def _host_ca() -> Path:
    if not HOST_CA.is_file():
        raise StandinError(f"no CA bundle at {HOST_CA}: install ca-certificates on the host")
    return HOST_CA


def build_python(digest: str) -> None:
    packages = recipe_lines(RECIPES / "python" / "packages.txt")
    changes = recipe_lines(RECIPES / "python" / "changes.txt")
    with tempfile.TemporaryDirectory(prefix="standin-python-") as tmp:
        rootfs = Path(tmp) / "rootfs"
        print(f"  debootstrap --variant=minbase {SUITE} with {', '.join(packages)}", flush=True)
        _run(
            [
                "debootstrap",
                "--variant=minbase",
                f"--include={','.join(packages)}",
                SUITE,
                str(rootfs),
            ],
            "debootstrap",
        )
        shutil.copyfile(_host_ca(), rootfs / "etc" / "ssl" / "certs" / "ca-certificates.crt")
        for cache in ("var/cache/apt/archives", "var/lib/apt/lists"):
            for item in (rootfs / cache).glob("*"):
                if item.is_file():
                    item.unlink()
        print(f"  docker import -> {PYTHON}", flush=True)
        changes.append(f"LABEL {LABEL}={digest}")
        flags = [arg for change in changes for arg in ("--change", change)]
        # The pipe is closed here too: a leaked one is a ResourceWarning, an error under pytest.
        with subprocess.Popen(["tar", "-C", str(rootfs), "-c", "."], stdout=subprocess.PIPE) as tar:
            out = subprocess.run(
                ["docker", "import", *flags, "-", PYTHON],
                stdin=tar.stdout,
                capture_output=True,
                text=True,
            )
        if out.returncode != 0 or tar.returncode != 0:
            raise StandinError(f"docker import of {PYTHON} failed: {out.stderr[-2000:]}")


def build_dapr(version: str, digest: str) -> None:
    bin_dir = runtime.ensure_runtime()
    with tempfile.TemporaryDirectory(prefix="standin-dapr-") as tmp:
        context = Path(tmp)
        root = context / "rootfs"
        (root / "etc" / "ssl" / "certs").mkdir(parents=True)
        (root / "tmp").mkdir(mode=0o1777)
        (root / "tmp").chmod(0o1777)
        shutil.copyfile(_host_ca(), root / "etc" / "ssl" / "certs" / "ca-certificates.crt")
        (root / "etc" / "passwd").write_text(
            "root:x:0:0:root:/:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/:/sbin/nologin\n"
        )
        for name in runtime.BINARIES:
            shutil.copy2(bin_dir / name, root / name)
        shutil.copyfile(RECIPES / "dapr" / "Dockerfile", context / "Dockerfile")
        cmd = ["docker", "build", "-q", "--label", f"{LABEL}={digest}", "-t", dapr_image(version)]
        _run([*cmd, str(context)], "docker build")


def _on_python(digest: str) -> list[str]:
    """`docker build` of a recipe on the Python stand-in, labelled with its digest."""
    return [
        "docker",
        "build",
        "-q",
        "--build-arg",
        f"BASE={PYTHON}",
        "--label",
        f"{LABEL}={digest}",
    ]


def build_redis(digest: str) -> None:
    _run([*_on_python(digest), "-t", REDIS, str(RECIPES / "redis")], "docker build")


def build_zipkin(version: str, digest: str) -> None:
    jar = zipkin.jar(version)  # the same download as the self-hosted stack's Zipkin
    with tempfile.TemporaryDirectory(prefix="standin-zipkin-") as tmp:
        context = Path(tmp)
        shutil.copyfile(RECIPES / "zipkin" / "Dockerfile", context / "Dockerfile")
        shutil.copyfile(jar, context / "zipkin.jar")
        _run([*_on_python(digest), "-t", zipkin_image(version), str(context)], "docker build")


def build_locust(version: str, digest: str) -> None:
    cmd = [*_on_python(digest), "--build-arg", f"LOCUST_VERSION={version}"]
    cmd += ["-t", locust_image(version)]
    _run([*cmd, str(RECIPES / "locust")], "docker build")


def _link_or_copy(src: str, dst: str) -> None:
    """A hard link where the context is on the toolchain's file system (no 270 MB copy)."""
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def build_golang(go: HostGo, digest: str) -> None:
    with tempfile.TemporaryDirectory(prefix="standin-golang-") as tmp:
        context = Path(tmp)
        shutil.copyfile(RECIPES / "golang" / "Dockerfile", context / "Dockerfile")
        # GOROOT/test is the compiler's own test suite: nothing a build reads
        ignore = shutil.ignore_patterns("test")
        print(f"  copying Go {go.version} from {go.root}", flush=True)
        shutil.copytree(go.root, context / "go", ignore=ignore, copy_function=_link_or_copy)
        cmd = [*_on_python(digest), "--build-arg", f"GOPROXY={go.proxy}"]
        cmd += ["--build-arg", f"GOSUMDB={go.sumdb}", "-t", golang_image(go.version)]
        _run([*cmd, str(context)], "docker build")


def ensure_standins() -> dict[str, Standin]:
    """Build what is missing or was built from another recipe; return each stand-in by the
    compose variable it is passed in."""
    version = runtime.pinned_version()
    zipkin_v, locust = pin("ZIPKIN_IMAGE"), pin("LOCUST_VERSION")
    go = host_go()
    base = recipe_digest("python", SUITE)  # the others' base: its change rebuilds them too
    wanted = {  # in build order: the Python stand-in first
        "DAPRSHOP_PYTHON_IMAGE": Standin(PYTHON, "python:3.11.*-slim-bookworm", base, build_python),
        "DAPRSHOP_DAPR_IMAGE": Standin(
            dapr_image(version),
            f"daprio/dapr:{version}",
            recipe_digest("dapr", version),
            lambda d: build_dapr(version, d),
        ),
        "DAPRSHOP_REDIS_IMAGE": Standin(
            REDIS, "redis:7.4.7", recipe_digest("redis", base), build_redis
        ),
        "DAPRSHOP_ZIPKIN_IMAGE": Standin(
            zipkin_image(zipkin_v),
            f"openzipkin/zipkin:{zipkin_v}",
            recipe_digest("zipkin", zipkin_v, base),
            lambda d: build_zipkin(zipkin_v, d),
        ),
        "DAPRSHOP_LOCUST_IMAGE": Standin(
            locust_image(locust),
            f"locustio/locust:{locust}",
            recipe_digest("locust", locust, base),
            lambda d: build_locust(locust, d),
        ),
        "DAPRSHOP_GO_IMAGE": Standin(
            golang_image(go.version),
            f"golang:{pin('GO_IMAGE')}",
            recipe_digest("golang", go.version, go.proxy, go.sumdb, base),
            lambda d: build_golang(go, d),
        ),
    }
    for s in wanted.values():
        found = built_from(s.image)
        if found == s.recipe:
            print(f"stand-in {s.image} for {s.upstream}: present (no build)", flush=True)
            continue
        started = time.monotonic()
        why = "missing" if found is None else "its recipe changed"
        print(f"==> building stand-in {s.image} for {s.upstream} ({why})", flush=True)
        s.build(s.recipe)
        print(f"  {s.image} built in {time.monotonic() - started:.0f}s", flush=True)
    return wanted

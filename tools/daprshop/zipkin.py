"""Zipkin, the trace backend: zipkin-server's exec jar from Maven Central (cached, checked
against Maven's SHA-1), run on the host's Java by the self-hosted stack and baked into the
compose stand-in (standins.py). One download for both."""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import urllib.request
from pathlib import Path

from daprshop import runtime

MAVEN = "https://repo1.maven.org/maven2/io/zipkin/zipkin-server"
JAVA_MAJOR = 17  # Zipkin 3 needs Java 17 or newer
INSTALL_JAVA = (
    "install a Java runtime >= 17 (Debian/Ubuntu: sudo apt-get install default-jre-headless; "
    "`make setup` does it when run as root), or start without Zipkin"
)
# C1 only and the serial collector: /health is UP in 4.1-5.5 s instead of 7.3-10.3 s on 2
# shared cores, ~5 s of CPU (README "Seeing a saga: traces", measured); the heap is capped,
# and at most MAX_SPANS spans are kept in memory (the oldest traces are dropped first).
# Armeria closes a connection idle 15 s; daprd's exporter (Go, keeping idle connections 90 s)
# could post a batch on one just closed: `connection reset by peer`, and that batch of spans
# was lost (a CI run's trace lacked payments). Longer than Go's 90 s, the client always closes
# first. Compose passes the same flag (deploy/render.py).
IDLE_TIMEOUT_FLAG = "-Dcom.linecorp.armeria.defaultServerIdleTimeoutMillis=120000"
JVM_FLAGS = (
    "-XX:TieredStopAtLevel=1",
    "-XX:+UseSerialGC",
    "-Xmx512m",
    "-XX:+ExitOnOutOfMemoryError",
    "-Djava.net.preferIPv4Stack=true",  # else Java lists 127.0.0.1 as ::ffff:127.0.0.1
    IDLE_TIMEOUT_FLAG,
)
MAX_SPANS = 200_000


class ZipkinError(SystemExit):
    """Zipkin cannot be run here; the message says why and what to do."""


def jar(version: str) -> Path:
    """zipkin-server's exec jar from Maven Central, cached and checked against its .sha1."""
    path = runtime.cache_root() / "standins" / f"zipkin-server-{version}-exec.jar"
    if path.is_file():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    url = f"{MAVEN}/{version}/zipkin-server-{version}-exec.jar"
    print(f"  downloading {url} (~130 MB, once)", flush=True)
    part = path.with_suffix(".part")
    try:
        with urllib.request.urlopen(url + ".sha1", timeout=30) as r:
            want = r.read().decode().split()[0]
        with urllib.request.urlopen(url, timeout=60) as r, part.open("wb") as out:
            shutil.copyfileobj(r, out, 1 << 20)
    except OSError as err:
        raise ZipkinError(f"cannot download {url}: {err}") from err
    got = hashlib.sha1(part.read_bytes()).hexdigest()  # Maven Central publishes SHA-1
    if got != want:
        part.unlink()
        raise ZipkinError(f"{url}: SHA-1 {got}, Maven Central says {want}")
    part.replace(path)
    return path


def java() -> str:
    """The host's `java`, if it is 17 or newer."""
    found = shutil.which("java")
    if found is None:
        raise ZipkinError(f"Zipkin needs Java, and there is no `java` on PATH: {INSTALL_JAVA}")
    out = subprocess.run([found, "-version"], capture_output=True, text=True, timeout=30)
    version = re.search(r'version "(\d+)', out.stderr + out.stdout)
    if version is None or int(version.group(1)) < JAVA_MAJOR:
        seen = (out.stderr or out.stdout).splitlines()[:1]
        raise ZipkinError(f"Zipkin needs Java >= {JAVA_MAJOR}, found {seen}: {INSTALL_JAVA}")
    return found


def argv(version: str, port: int) -> list[str]:
    """zipkin-server with in-memory storage, its API and UI on 127.0.0.1:`port` only."""
    server = [
        f"--armeria.ports[0].port={port}",  # a list: given whole, it replaces the jar's
        "--armeria.ports[0].ip=127.0.0.1",
        "--armeria.ports[0].protocols[0]=http",
    ]
    return [java(), *JVM_FLAGS, "-jar", str(jar(version)), *server]


def env() -> dict[str, str]:
    return {"STORAGE_TYPE": "mem", "MEM_MAX_SPANS": str(MAX_SPANS), "SELF_TRACING_ENABLED": "false"}


def endpoint(port: int) -> str:
    """Where a sidecar sends its spans (Zipkin's v2 API)."""
    return f"http://127.0.0.1:{port}/api/v2/spans"

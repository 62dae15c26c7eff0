"""The Dapr control plane's image for upstream's Helm chart (charts/dapr of the pinned
github.com/dapr/dapr): like upstream's daprio/dapr, one image holding every binary at /
(the chart's `command`s and the injector's sidecar exec /operator, /daprd, ...), user 65532.

operator and injector are built here from tools/dapr as the runtime builds its four (same
tags and stamps), into .../dapr/<v>/k8s-bin: `make run` never needs them.
"""

from __future__ import annotations

import json
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from daprshop import ociimage, runtime

STANDIN = "daprshop-standin"  # local image names: nothing is pulled from a registry
CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
NONROOT = 65532  # distroless's `nonroot`, as in upstream's docker/Dockerfile
# each chart value naming an image; the sidecar injector's image.name is the daprd it injects
IMAGE_KEYS = (
    "dapr_operator.image.name",
    "dapr_placement.image.name",
    "dapr_sentry.image.name",
    "dapr_scheduler.image.name",
    "dapr_sidecar_injector.injectorImage.name",
    "dapr_sidecar_injector.image.name",
)


@dataclass(frozen=True)
class DaprImages:
    archives: list[Path]  # for `ctr -n k8s.io images import`
    refs: list[str]
    helm_overrides: list[str]  # `helm install ... *helm_overrides`
    chart: Path  # charts/dapr in the Go module cache


def image_ref(version: str) -> str:
    return f"{STANDIN}/dapr:{version}"


def helm_overrides(ref: str) -> list[str]:
    """--set arguments that make the chart run `ref` for every component and sidecar: the
    chart's images are `{global.registry}/{<component>.image.name}:{global.tag}`."""
    registry, tag = ref.rsplit(":", 1)
    registry, name = registry.rsplit("/", 1)
    sets = [f"global.registry={registry}", f"global.tag={tag}"]
    return [f"--set={s}" for s in [*sets, *(f"{key}={name}" for key in IMAGE_KEYS)]]


def passwd() -> bytes:
    return (
        "root:x:0:0:root:/root:/sbin/nologin\n"
        "nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n"
        f"nonroot:x:{NONROOT}:{NONROOT}:nonroot:/home/nonroot:/sbin/nologin\n"
    ).encode()


def group() -> bytes:
    return f"root:x:0:\nnobody:x:65534:\nnonroot:x:{NONROOT}:\n".encode()


def image_files(binaries: dict[str, Path], ca_bundle: Path) -> dict[str, ociimage.File]:
    """The layer: what distroless static:nonroot gives (users, CA bundle, /tmp, a home)
    plus each binary at /<name>."""
    files = {
        "etc/passwd": ociimage.File(passwd()),
        "etc/group": ociimage.File(group()),
        "etc/ssl/certs/ca-certificates.crt": ociimage.host_file(ca_bundle),
        "home/nonroot": ociimage.File(None, 0o700, uid=NONROOT),
        "tmp": ociimage.File(None, 0o1777),
    }
    return files | {name: ociimage.File(path, 0o755) for name, path in binaries.items()}


IMAGE_CONFIG: dict[str, object] = {
    "User": f"{NONROOT}:{NONROOT}",
    "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
    "WorkingDir": "/",
}


def chart_dir() -> Path:
    """charts/dapr of tools/dapr's github.com/dapr/dapr, downloaded if need be."""
    cmd = ["go", "mod", "download", "-json", "github.com/dapr/dapr"]
    out = subprocess.run(cmd, cwd=runtime.WRAPPER, check=True, capture_output=True, text=True)
    return Path(json.loads(out.stdout)["Dir"]) / "charts" / "dapr"


def k8s_bin_dir(version: str) -> Path:
    return runtime.cache_root() / "dapr" / version / "k8s-bin"


def ensure_k8s_binaries(version: str) -> Path:
    """operator and injector in k8s-bin, each built when missing."""
    final = k8s_bin_dir(version)
    if todo := [n for n in runtime.K8S_PACKAGES if not (final / n).is_file()]:
        with runtime.cache_lock(f"dapr-k8s-{version}"):
            started = time.monotonic()
            for name in [n for n in todo if not (final / n).is_file()]:
                staging = final.with_name("k8s-bin.partial")
                staging.mkdir(parents=True, exist_ok=True)
                runtime.build_one(name, staging, version)
                final.mkdir(exist_ok=True)
                (staging / name).rename(final / name)
                staging.rmdir()
            took = time.monotonic() - started
            print(f"Dapr {version} operator, injector built in {took:.0f}s: {final}", flush=True)
    else:
        print(f"Dapr {version} operator, injector: {final} (cached, no build)", flush=True)
    return final


def ensure_dapr_images() -> DaprImages:
    """The control plane's image archive (built once; waits for a running runtime build)."""
    version = runtime.pinned_version()
    ref = image_ref(version)
    archive = runtime.cache_root() / "dapr" / version / "images" / f"dapr-{version}.oci.tar"
    runtime_dir = runtime.ensure_runtime()
    k8s_dir = ensure_k8s_binaries(version)
    binaries = {n: runtime_dir / n for n in runtime.BINARIES}
    binaries |= {n: k8s_dir / n for n in runtime.K8S_PACKAGES}
    if ociimage.stale(archive, binaries.values()):
        with runtime.cache_lock(f"dapr-k8s-{version}"):
            if ociimage.stale(archive, binaries.values()):  # written while waiting?
                started = time.monotonic()
                ociimage.save(archive, image_files(binaries, CA_BUNDLE), IMAGE_CONFIG, ref)
                took = time.monotonic() - started
                print(f"Dapr image {ref}: {archive} (written in {took:.0f}s)", flush=True)
                return DaprImages([archive], [ref], helm_overrides(ref), chart_dir())
    print(f"Dapr image {ref}: {archive} (cached, no build)", flush=True)
    return DaprImages([archive], [ref], helm_overrides(ref), chart_dir())

"""The pod sandbox ("pause") image, without a registry: `gcc -static` of the release's
build/pause/linux/pause.c, packed as an OCI image archive for `ctr -n k8s.io images import`.

The image is what upstream's build/pause/Dockerfile makes (FROM scratch, /pause, user
65535, entrypoint /pause); the archive is written here, byte for byte the same each time.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import subprocess
import tarfile
from pathlib import Path

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar"  # uncompressed: digest = diff id
REPOSITORY = "daprshop.local/k8s/pause"


def pause_tag(makefile: str) -> str:
    """The pause version the release's build/pause/Makefile builds (`TAG ?= 3.10.2`)."""
    m = re.search(r"^TAG \?= (\S+)$", makefile, re.M)
    if m is None:
        raise ValueError("no `TAG ?= <version>` in build/pause/Makefile")
    return m[1]


def image_ref(tag: str) -> str:
    return f"{REPOSITORY}:{tag}"


def compile_command(source: Path, out: Path, tag: str) -> list[str]:
    # the Makefile's CFLAGS; its REV (a git describe) is the release we took it from
    return [
        "gcc",
        "-Os",
        "-Wall",
        "-Werror",
        "-static",
        f"-DVERSION=v{tag}-daprshop",
        "-o",
        str(out),
        str(source),
    ]


def _tar(files: dict[str, tuple[bytes, int]]) -> bytes:
    """A tar of `files` (name -> (content, mode)), owned by root, dated 0: reproducible."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for name, (content, mode) in files.items():
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(content), mode, 0
            tar.addfile(info, io.BytesIO(content))
    return buf.getvalue()


def _json(obj: object) -> bytes:
    return json.dumps(obj, separators=(",", ":"), sort_keys=True).encode()


def _descriptor(media_type: str, blob: bytes) -> dict[str, object]:
    return {"mediaType": media_type, "digest": _digest(blob), "size": len(blob)}


def _digest(blob: bytes) -> str:
    return "sha256:" + hashlib.sha256(blob).hexdigest()


def oci_archive(pause: bytes, ref: str) -> bytes:
    """An OCI image layout, as a tar, of one linux/amd64 image holding `pause` at /pause."""
    layer = _tar({"pause": (pause, 0o755)})
    config = _json(
        {
            "architecture": "amd64",
            "os": "linux",
            "config": {"User": "65535:65535", "Entrypoint": ["/pause"]},
            "rootfs": {"type": "layers", "diff_ids": [_digest(layer)]},
        }
    )
    manifest = _json(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": _descriptor(OCI_CONFIG, config),
            "layers": [_descriptor(OCI_LAYER, layer)],
        }
    )
    tag = ref.rsplit(":", 1)[1]
    index = {
        "schemaVersion": 2,
        "manifests": [
            {
                **_descriptor(OCI_MANIFEST, manifest),
                "platform": {"architecture": "amd64", "os": "linux"},
                # ctr import names the image by the first; the second is the OCI layout's
                "annotations": {
                    "io.containerd.image.name": ref,
                    "org.opencontainers.image.ref.name": tag,
                },
            }
        ],
    }
    blobs = {f"blobs/sha256/{_digest(b)[7:]}": (b, 0o644) for b in (layer, config, manifest)}
    layout = {"oci-layout": (_json({"imageLayoutVersion": "1.0.0"}), 0o644)}
    return _tar({**layout, "index.json": (_json(index), 0o644), **blobs})


def build(kubernetes_dir: Path, out_dir: Path) -> tuple[Path, str]:
    """Compile pause.c and write the archive into out_dir; return (archive, image ref)."""
    tag = pause_tag((kubernetes_dir / "build" / "pause" / "Makefile").read_text())
    out_dir.mkdir(parents=True, exist_ok=True)
    binary = out_dir / "pause"
    source = kubernetes_dir / "build" / "pause" / "linux" / "pause.c"
    subprocess.run(compile_command(source, binary, tag), check=True)
    archive = out_dir / f"pause-{tag}.oci.tar"
    partial = archive.with_name(archive.name + ".partial")
    partial.write_bytes(oci_archive(binary.read_bytes(), image_ref(tag)))
    partial.rename(archive)
    return archive, image_ref(tag)

"""The pod sandbox ("pause") image, without a registry: `gcc -static` of the release's
build/pause/linux/pause.c, packed as an OCI image archive for `ctr -n k8s.io images import`.

The image is what upstream's build/pause/Dockerfile makes (FROM scratch, /pause, user
65535, entrypoint /pause); the archive is written here, byte for byte the same each time.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from daprshop import ociimage

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


def oci_archive(pause: bytes, ref: str) -> bytes:
    """An OCI image layout, as a tar, of one linux/amd64 image holding `pause` at /pause."""
    files = {"pause": ociimage.File(pause, 0o755)}
    return ociimage.archive_bytes(files, {"User": "65535:65535", "Entrypoint": ["/pause"]}, ref)


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

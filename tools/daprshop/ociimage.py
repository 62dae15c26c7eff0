"""OCI image archives without docker, for `ctr -n k8s.io images import`: one uncompressed
linux/amd64 layer of files (in memory or on disk), its config, and an index naming the image.

Everything is owned as given, dated 0 and written in the order given: the same files give
the same archive, byte for byte.
"""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar"  # uncompressed: digest = diff id
PLATFORM = {"architecture": "amd64", "os": "linux"}


@dataclass(frozen=True)
class File:
    """One layer member: bytes or a host file to copy, or a directory (None)."""

    source: bytes | Path | None
    mode: int = 0o644
    uid: int = 0  # and gid
    xattrs: Mapping[str, bytes] = field(default_factory=dict)  # security.capability, ...


def _member(name: str, f: File, size: int) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.mode, info.mtime, info.uid, info.gid = f.mode, 0, f.uid, f.uid
    if f.source is None:
        info.type = tarfile.DIRTYPE
    info.size = size
    # PAX records as Go's archive/tar (containerd) reads them; binary values pass through
    info.pax_headers = {
        f"SCHILY.xattr.{k}": v.decode("utf-8", "surrogateescape") for k, v in f.xattrs.items()
    }
    return info


def _with_parents(files: Mapping[str, File]) -> dict[str, File]:
    """`files` with each missing parent directory before its first child (root, 0755)."""
    out: dict[str, File] = {}
    for name, f in files.items():
        parts = name.split("/")[:-1]
        for i in range(1, len(parts) + 1):
            out.setdefault("/".join(parts[:i]), File(None, 0o755))
        out[name] = f
    return out


def write_tar(out: IO[bytes], files: Mapping[str, File]) -> None:
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, f in _with_parents(files).items():
            if isinstance(f.source, Path):
                with f.source.open("rb") as src:
                    tar.addfile(_member(name, f, f.source.stat().st_size), src)
            elif f.source is None:
                tar.addfile(_member(name, f, 0))
            else:
                tar.addfile(_member(name, f, len(f.source)), io.BytesIO(f.source))


def _json(obj: object) -> bytes:
    return json.dumps(obj, separators=(",", ":"), sort_keys=True).encode()


def _digest_of(stream: IO[bytes]) -> tuple[str, int]:
    stream.seek(0)
    sha, size = hashlib.sha256(), 0
    while chunk := stream.read(1 << 20):
        sha.update(chunk)
        size += len(chunk)
    stream.seek(0)
    return "sha256:" + sha.hexdigest(), size


def digest(blob: bytes) -> str:
    return "sha256:" + hashlib.sha256(blob).hexdigest()


def _descriptor(media_type: str, blob: bytes) -> dict[str, object]:
    return {"mediaType": media_type, "digest": digest(blob), "size": len(blob)}


def normalized(ref: str) -> str:
    """`ref` as the kubelet's CRI looks it up (`x/y:1` is `docker.io/x/y:1`): the name
    the archive gives the image, so a pod naming `x/y:1` finds it imported, not pulled."""
    first, _, rest = ref.partition("/")
    if not rest:
        return f"docker.io/library/{ref}"
    if "." in first or ":" in first or first == "localhost":
        return ref
    return f"docker.io/{ref}"


def write_archive(
    out: IO[bytes], files: Mapping[str, File], config: Mapping[str, object], ref: str
) -> None:
    """Write to `out` an OCI image layout, as a tar, of one image: a layer of `files`,
    `config` as its runtime config (User, Entrypoint, Env, ...), named `ref`."""
    with tempfile.TemporaryFile() as layer:
        write_tar(layer, files)
        layer_digest, layer_size = _digest_of(layer)
        config_blob = _json(
            {
                **PLATFORM,
                "config": dict(config),
                "rootfs": {"type": "layers", "diff_ids": [layer_digest]},
            }
        )
        layer_desc = {"mediaType": OCI_LAYER, "digest": layer_digest, "size": layer_size}
        manifest = _json(
            {
                "schemaVersion": 2,
                "mediaType": OCI_MANIFEST,
                "config": _descriptor(OCI_CONFIG, config_blob),
                "layers": [layer_desc],
            }
        )
        index = {
            "schemaVersion": 2,
            "manifests": [
                {
                    **_descriptor(OCI_MANIFEST, manifest),
                    "platform": PLATFORM,
                    # ctr import names the image by the first; the second is the OCI layout's
                    "annotations": {
                        "io.containerd.image.name": normalized(ref),
                        "org.opencontainers.image.ref.name": ref.rsplit(":", 1)[1],
                    },
                }
            ],
        }
        with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
            members: dict[str, tuple[IO[bytes], int]] = {
                "oci-layout": _stream(_json({"imageLayoutVersion": "1.0.0"})),
                "index.json": _stream(_json(index)),
                f"blobs/sha256/{layer_digest[7:]}": (layer, layer_size),
                f"blobs/sha256/{digest(config_blob)[7:]}": _stream(config_blob),
                f"blobs/sha256/{digest(manifest)[7:]}": _stream(manifest),
            }
            for name, (stream, size) in members.items():
                info = tarfile.TarInfo(name)
                info.mode, info.mtime, info.size = 0o644, 0, size
                tar.addfile(info, stream)


def _stream(blob: bytes) -> tuple[IO[bytes], int]:
    return io.BytesIO(blob), len(blob)


def archive_bytes(files: Mapping[str, File], config: Mapping[str, object], ref: str) -> bytes:
    buf = io.BytesIO()
    write_archive(buf, files, config, ref)
    return buf.getvalue()


def save(path: Path, files: Mapping[str, File], config: Mapping[str, object], ref: str) -> Path:
    """Write the archive to `path` through a `.partial` beside it: never half an archive."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    with partial.open("wb") as out:
        write_archive(out, files, config, ref)
    partial.rename(path)
    return path


def stale(archive: Path, sources: Iterable[Path]) -> bool:
    """True when `archive` is missing or older than one of the files it is made of."""
    return not archive.is_file() or archive.stat().st_mtime < max(
        p.stat().st_mtime for p in sources
    )


def host_file(path: Path, mode: int = 0o644) -> File:
    """A host file copied into the layer as root's (its bytes read when the layer is written)."""
    if not path.is_file():
        raise FileNotFoundError(f"{path}: needed in an image and missing on this host")
    return File(path.resolve(), mode)

"""Reading an OCI image archive in the unit tests (the pause, CoreDNS and Dapr images):
its members, a file by name, a blob by digest (checked against its content)."""

from __future__ import annotations

import hashlib
import io
import tarfile


def members(archive: bytes) -> dict[str, tarfile.TarInfo]:
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        return {m.name: m for m in tar.getmembers()}


def read(archive: bytes, name: str) -> bytes:
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        f = tar.extractfile(name)
        assert f is not None
        return f.read()


def blob(archive: bytes, digest: str) -> bytes:
    found = read(archive, f"blobs/sha256/{digest.removeprefix('sha256:')}")
    assert "sha256:" + hashlib.sha256(found).hexdigest() == digest
    return found

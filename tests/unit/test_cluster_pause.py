"""The pause image archive: a valid OCI image layout naming its image, reproducible."""

import json

import pytest

from daprshop import clusterpause
from tests.unit import ociarchive

REF = "daprshop.local/k8s/pause:3.10.2"


def test_the_archive_is_an_oci_layout_whose_index_names_the_image() -> None:
    archive = clusterpause.oci_archive(b"\x7fELF pause", REF)
    assert json.loads(ociarchive.read(archive, "oci-layout")) == {"imageLayoutVersion": "1.0.0"}
    (entry,) = json.loads(ociarchive.read(archive, "index.json"))["manifests"]
    assert entry["annotations"]["io.containerd.image.name"] == REF
    assert entry["annotations"]["org.opencontainers.image.ref.name"] == "3.10.2"
    assert entry["platform"] == {"architecture": "amd64", "os": "linux"}
    manifest = json.loads(ociarchive.blob(archive, entry["digest"]))
    config = json.loads(ociarchive.blob(archive, manifest["config"]["digest"]))
    (layer_desc,) = manifest["layers"]
    layer = ociarchive.blob(archive, layer_desc["digest"])
    assert config["rootfs"]["diff_ids"] == [layer_desc["digest"]]  # uncompressed layer
    assert config["config"] == {"User": "65535:65535", "Entrypoint": ["/pause"]}
    pause = ociarchive.members(layer)["pause"]
    assert (pause.mode, pause.uid, pause.size) == (0o755, 0, len(b"\x7fELF pause"))


def test_the_same_binary_gives_the_same_archive() -> None:
    assert clusterpause.oci_archive(b"x", REF) == clusterpause.oci_archive(b"x", REF)


def test_the_tag_is_the_releases_pause_version() -> None:
    assert clusterpause.pause_tag("REV = x\nTAG ?= 3.10.2\n") == "3.10.2"
    with pytest.raises(ValueError, match="TAG"):
        clusterpause.pause_tag("REV = x\n")

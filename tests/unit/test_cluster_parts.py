"""The cluster's extra parts: OCI archives of host files, helm's and CoreDNS's stamps, the
Dapr image and the chart overrides that select it; no network, no Go."""

import io
import json
import tarfile
from pathlib import Path

import pytest

from daprshop import clusterdapr, clusterparts, ociimage, runtime
from tests.unit import ociarchive


def _image(archive: bytes) -> tuple[dict[str, object], dict[str, tarfile.TarInfo], bytes]:
    """(config, layer members by name, layer) of the archive's one image."""
    (entry,) = json.loads(ociarchive.read(archive, "index.json"))["manifests"]
    manifest = json.loads(ociarchive.blob(archive, entry["digest"]))
    config = json.loads(ociarchive.blob(archive, manifest["config"]["digest"]))
    (layer_desc,) = manifest["layers"]
    layer = ociarchive.blob(archive, layer_desc["digest"])
    assert config["rootfs"]["diff_ids"] == [layer_desc["digest"]]
    with tarfile.open(fileobj=io.BytesIO(layer)) as tar:
        return config, {m.name: m for m in tar.getmembers()}, layer


def test_a_host_file_is_copied_and_parents_come_first(tmp_path: Path) -> None:
    (tmp_path / "bin").write_bytes(b"\x7fELF daprd")
    files = {
        "etc/ssl/certs/ca.crt": ociimage.File(b"pem"),
        "daprd": ociimage.host_file(tmp_path / "bin", 0o755),
    }
    archive = ociimage.archive_bytes(files, {"User": "1:1"}, "daprshop-standin/x:1")
    _, members, layer = _image(archive)
    assert list(members) == ["etc", "etc/ssl", "etc/ssl/certs", "etc/ssl/certs/ca.crt", "daprd"]
    assert members["etc/ssl"].isdir() and members["etc/ssl"].mode == 0o755
    with tarfile.open(fileobj=io.BytesIO(layer)) as tar:
        f = tar.extractfile("daprd")
        assert f is not None and f.read() == b"\x7fELF daprd"
    assert members["daprd"].mode == 0o755 and members["daprd"].mtime == 0
    assert archive == ociimage.archive_bytes(files, {"User": "1:1"}, "daprshop-standin/x:1")


@pytest.mark.parametrize(
    ("ref", "stored"),
    [
        ("daprshop-standin/dapr:1.18.2", "docker.io/daprshop-standin/dapr:1.18.2"),
        ("pause:3", "docker.io/library/pause:3"),
        ("daprshop.local/k8s/pause:3.10.2", "daprshop.local/k8s/pause:3.10.2"),
        ("localhost/x:1", "localhost/x:1"),
    ],
)
def test_the_archive_names_the_image_as_the_cri_looks_it_up(ref: str, stored: str) -> None:
    """A pod's `daprshop-standin/dapr:1.18.2` is looked up as docker.io/...: never pulled."""
    archive = ociimage.archive_bytes({"x": ociimage.File(b"x")}, {}, ref)
    (entry,) = json.loads(ociarchive.read(archive, "index.json"))["manifests"]
    assert entry["annotations"]["io.containerd.image.name"] == stored
    assert entry["annotations"]["org.opencontainers.image.ref.name"] == ref.rsplit(":", 1)[1]


def test_a_missing_host_file_is_named() -> None:
    with pytest.raises(FileNotFoundError, match="/no/such/file"):
        ociimage.host_file(Path("/no/such/file"))


def test_coredns_runs_as_user_65532_with_no_file_capability(tmp_path: Path) -> None:
    """Upstream's image without its setcap: under `drop: [ALL]` a file capability makes exec
    fail (EPERM), so the addon listens on 1053."""
    (tmp_path / "coredns").write_bytes(b"\x7fELF coredns")
    files, config = clusterparts.coredns_image(tmp_path / "coredns")
    archive = ociimage.archive_bytes(files, config, "daprshop-standin/coredns:1.15.0")
    got, members, _ = _image(archive)
    assert got["config"] == config
    assert config["User"] == "65532:65532" and config["Entrypoint"] == ["/coredns"]
    assert list(members) == ["coredns"]
    assert not [h for h in members["coredns"].pax_headers if "xattr" in h]


def test_the_dapr_image_holds_every_binary_at_the_root_as_the_chart_execs_them(
    tmp_path: Path,
) -> None:
    (tmp_path / "ca.crt").write_bytes(b"pem")
    names = [*runtime.BINARIES, *runtime.K8S_PACKAGES]
    for name in names:
        (tmp_path / name).write_bytes(name.encode())
    binaries = {n: tmp_path / n for n in names}
    files = clusterdapr.image_files(binaries, tmp_path / "ca.crt")
    archive = ociimage.archive_bytes(files, clusterdapr.IMAGE_CONFIG, "daprshop-standin/dapr:1")
    config, members, _ = _image(archive)
    assert {"operator", "injector", "daprd", "placement", "scheduler", "sentry"} <= set(members)
    assert all(members[n].mode == 0o755 for n in names)
    assert "etc/ssl/certs/ca-certificates.crt" in members
    assert members["tmp"].mode == 0o1777 and members["home/nonroot"].uid == 65532
    # the chart sets runAsNonRoot without runAsUser: the kubelet needs a numeric user
    assert config["config"]["User"] == "65532:65532"  # type: ignore[index]
    assert b"nonroot:x:65532:65532:" in clusterdapr.passwd()


def test_the_overrides_select_the_local_image_for_every_component_and_the_sidecar() -> None:
    assert clusterdapr.helm_overrides("daprshop-standin/dapr:1.18.2") == [
        "--set=global.registry=daprshop-standin",
        "--set=global.tag=1.18.2",
        "--set=dapr_operator.image.name=dapr",
        "--set=dapr_placement.image.name=dapr",
        "--set=dapr_sentry.image.name=dapr",
        "--set=dapr_scheduler.image.name=dapr",
        "--set=dapr_sidecar_injector.injectorImage.name=dapr",
        "--set=dapr_sidecar_injector.image.name=dapr",  # the daprd injected into pods
    ]


def test_operator_and_injector_are_stamped_like_the_runtime_but_not_built_by_make_run() -> None:
    assert set(runtime.K8S_PACKAGES).isdisjoint(runtime.BINARIES)
    flags = runtime.ldflags("1.18.2").split()
    assert "github.com/dapr/dapr/pkg/buildinfo.version=1.18.2" in flags
    assert "github.com/dapr/kit/logger.DaprVersion=1.18.2" in flags


def test_helm_is_stamped_as_its_makefile_does_for_a_tag() -> None:
    flags = clusterparts.helm_ldflags("v3.22.0", "v0.37.0").split()
    assert "helm.sh/helm/v3/internal/version.version=v3.22.0" in flags
    assert "helm.sh/helm/v3/internal/version.gitTreeState=clean" in flags
    for pkg in ("pkg/lint/rules", "pkg/chartutil"):
        assert f"helm.sh/helm/v3/{pkg}.k8sVersionMajor=1" in flags
        assert f"helm.sh/helm/v3/{pkg}.k8sVersionMinor=37" in flags
    assert clusterparts.coredns_ldflags("v1.15.0").split()[-1] == (
        "github.com/coredns/coredns/coremain.GitCommit=v1.15.0"
    )


def test_versions_come_from_the_committed_wrapper_modules() -> None:
    for tool, pinned in ((clusterparts.HELM, "v3.22.0"), (clusterparts.COREDNS, "v1.15.0")):
        gomod = (tool.wrapper / "go.mod").read_text()
        assert clusterparts.required_version(gomod, tool.module) == pinned
        assert f"\ntool {tool.package}\n" in gomod
    assert clusterparts.required_version("require x.io/y v1.2.3\n", "x.io/y") == "v1.2.3"
    with pytest.raises(ValueError, match=r"requires no x\.io/z"):
        clusterparts.required_version("require x.io/y v1.2.3\n", "x.io/z")


def test_a_tool_is_built_from_its_wrapper_with_cgo_off_tags() -> None:
    cmd = clusterparts.build_command(clusterparts.COREDNS, Path("/out/coredns"), "-s -w")
    assert cmd[:2] == ["go", "build"] and cmd[-1] == "github.com/coredns/coredns"
    assert "-tags=grpcnotrace" in cmd and "-trimpath" in cmd
    helm = clusterparts.build_command(clusterparts.HELM, Path("/out/helm"), "-s -w")
    assert not [a for a in helm if a.startswith("-tags")]

"""The Kubernetes wrapper module and build: staging replaces derived from the release's
go.mod, version stamps, and a cache that skips the build; no network, no Go."""

from pathlib import Path

import pytest

from daprshop import clusterbuild, clusterpin

UPSTREAM = """\
module k8s.io/kubernetes

go 1.26.0

godebug default=go1.26

require (
\tgithub.com/blang/semver/v4 v4.0.0
\tk8s.io/api v0.0.0
\tk8s.io/client-go v0.0.0
\tk8s.io/klog/v2 v2.140.0
)

replace (
\tk8s.io/api => ./staging/src/k8s.io/api
\tk8s.io/client-go => ./staging/src/k8s.io/client-go
)
"""


def test_the_staging_modules_are_the_releases_own_replaces() -> None:
    """Not a typed list: a release that adds a staging module adds a replace."""
    assert clusterpin.staging_modules(UPSTREAM) == ["k8s.io/api", "k8s.io/client-go"]


def test_a_go_mod_without_staging_replaces_is_refused() -> None:
    with pytest.raises(ValueError, match=r"no `k8s\.io"):
        clusterpin.staging_modules("module k8s.io/kubernetes\n\ngo 1.26.0\n")


@pytest.mark.parametrize(("release", "staging"), [("v1.36.3", "v0.36.3"), ("v1.4.10", "v0.4.10")])
def test_a_staging_module_is_tagged_v0_minor_patch(release: str, staging: str) -> None:
    assert clusterpin.staging_version(release) == staging


@pytest.mark.parametrize("bad", ["1.36.3", "v2.0.0", "v1.36", "v1.36.3-rc.0"])
def test_a_version_that_is_not_a_release_is_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="not a Kubernetes release"):
        clusterpin.staging_version(bad)


def test_the_wrapper_replaces_each_staging_module_and_keeps_go_and_godebug() -> None:
    gomod = clusterpin.wrapper_gomod("v1.36.3", UPSTREAM)
    assert "\tk8s.io/api => k8s.io/api v0.36.3\n" in gomod
    assert "\tk8s.io/client-go => k8s.io/client-go v0.36.3\n" in gomod
    assert "klog" not in gomod  # a published module, required at its own version
    assert "\ngo 1.26.0\n" in gomod and "\ngodebug default=go1.26\n" in gomod
    assert "require k8s.io/kubernetes v1.36.3\n" in gomod
    for command in clusterpin.COMMANDS:
        assert f"\tk8s.io/kubernetes/cmd/{command}\n" in gomod
    assert clusterpin.pinned_version(gomod) == "v1.36.3"


def test_the_committed_wrapper_replaces_every_staging_module_with_the_pinned_release() -> None:
    gomod = (clusterpin.WRAPPER / "go.mod").read_text()
    version = clusterpin.pinned_version(gomod)
    block = gomod.split("\nreplace (\n", 1)[1].split("\n)", 1)[0]
    replaces = [line.split() for line in block.splitlines()]
    assert replaces, "tools/k8s/go.mod replaces nothing"
    for old, arrow, new, pinned in replaces:
        assert (arrow, new, pinned) == ("=>", old, clusterpin.staging_version(version))


def test_drift_names_a_requirement_the_wrapper_selects_differently() -> None:
    selected = {"github.com/blang/semver/v4": "v4.0.0", "k8s.io/klog/v2": "v2.150.0"}
    assert clusterpin.drift(UPSTREAM, selected) == [
        "k8s.io/klog/v2: upstream v2.140.0, wrapper v2.150.0"
    ]
    assert clusterpin.drift(UPSTREAM, {**selected, "k8s.io/klog/v2": "v2.140.0"}) == []


def test_the_version_is_stamped_into_both_version_packages() -> None:
    """Without gitVersion a node reports v0.0.0-master and kubectl cannot parse it."""
    flags = clusterbuild.ldflags("v1.36.3", "2026-07-23T01:42:44Z").split()
    for pkg in ("k8s.io/component-base/version", "k8s.io/client-go/pkg/version"):
        for stamp in ("gitVersion=v1.36.3", "gitMajor=1", "gitMinor=36"):
            assert f"{pkg}.{stamp}" in flags
        assert f"{pkg}.buildDate=2026-07-23T01:42:44Z" in flags
    assert flags[:2] == ["-s", "-w"]


def test_a_binary_is_built_from_the_wrapper_with_upstreams_tags() -> None:
    cmd = clusterbuild.build_command("kubelet", Path("/out/kubelet"), "-s -w")
    assert cmd[:2] == ["go", "build"] and cmd[-1] == "k8s.io/kubernetes/cmd/kubelet"
    assert "-tags=selinux,notest,grpcnotrace" in cmd and "-trimpath" in cmd
    assert cmd[cmd.index("-o") + 1] == "/out/kubelet"


def test_a_complete_cache_is_used_without_go(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DAPRSHOP_CACHE", str(tmp_path))
    monkeypatch.setenv("PATH", str(tmp_path / "no-go-here"))
    version = clusterpin.pinned_version()
    cached = clusterbuild.bin_dir(version)
    cached.mkdir(parents=True)
    for command in clusterpin.COMMANDS:
        (cached / command).touch()
    assert clusterbuild.ensure_binaries() == cached
    assert "cached, no build" in capsys.readouterr().out


def test_only_the_missing_binaries_are_built(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DAPRSHOP_CACHE", str(tmp_path))
    cached = clusterbuild.bin_dir("v1.36.3")
    cached.mkdir(parents=True)
    (cached / "kubectl").touch()
    assert clusterbuild.missing("v1.36.3") == [c for c in clusterpin.COMMANDS if c != "kubectl"]


@pytest.mark.parametrize(
    ("name", "script"),
    [
        ("kubelet", "echo Kubernetes v1.36.3"),
        # kubectl's plain output ends with its kustomize's version: the JSON is read
        ("kubectl", """echo '{"clientVersion": {"gitVersion": "v1.36.3"},
                        "kustomizeVersion": "v5.8.1"}'"""),
    ],
)  # fmt: skip
def test_the_version_a_built_binary_reports(name: str, script: str, tmp_path: Path) -> None:
    binary = tmp_path / name
    binary.write_text(f"#!/bin/sh\n{script}\n")
    binary.chmod(0o755)
    assert clusterbuild.reported_version(name, binary) == "v1.36.3"

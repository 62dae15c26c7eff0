"""The stack's Zipkin: on 127.0.0.1 only, on the topology's port; each sidecar sends its spans
to it, or to nothing when the stack runs none (trace context flows either way); compose's
sidecars send theirs to the zipkin service."""

from pathlib import Path

import pytest
import yaml

from daprshop import zipkin
from daprshop.stack import _traced_to
from daprshop.topology import Topology

REPO = Path(__file__).resolve().parents[2]
CONFIG = REPO / "components" / "configuration" / "payments.yaml"


def test_zipkin_listens_on_loopback_on_the_topology_port(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(zipkin, "java", lambda: "/usr/bin/java")
    monkeypatch.setattr(zipkin, "jar", lambda version: Path(f"/cache/zipkin-{version}.jar"))
    argv = zipkin.argv("3.5.1", 19411)
    assert argv[:1] == ["/usr/bin/java"] and "/cache/zipkin-3.5.1.jar" in argv
    assert "--armeria.ports[0].port=19411" in argv
    assert "--armeria.ports[0].ip=127.0.0.1" in argv
    assert "-Djava.net.preferIPv4Stack=true" in argv  # listed as 127.0.0.1, not ::ffff:
    assert Topology.defaults(env={}).zipkin == 9411
    assert Topology.defaults(env={"DAPRSHOP_ZIPKIN_PORT": "9500"}).zipkin == 9500


def test_sidecars_send_spans_to_the_stacks_zipkin_or_to_none() -> None:
    text = CONFIG.read_text()
    base = yaml.safe_load(text)["spec"]["tracing"]
    assert base["zipkin"]["endpointAddress"] == zipkin.endpoint(9411)  # make run's default
    moved = yaml.safe_load(_traced_to(text, zipkin.endpoint(19411)))["spec"]["tracing"]
    assert moved == {"samplingRate": "1", "zipkin": {"endpointAddress": zipkin.endpoint(19411)}}
    none = yaml.safe_load(_traced_to(text, None))["spec"]
    assert none["tracing"] == {"samplingRate": "1"}
    assert none["accessControl"] == yaml.safe_load(text)["spec"]["accessControl"]


def test_compose_sidecars_send_spans_to_the_zipkin_service() -> None:
    for path in (REPO / "deploy" / "compose" / "configuration").glob("*.yaml"):
        tracing = yaml.safe_load(path.read_text())["spec"]["tracing"]
        assert tracing["zipkin"]["endpointAddress"] == "http://zipkin:9411/api/v2/spans", path


def test_without_java_the_error_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(zipkin.shutil, "which", lambda _name: None)
    with pytest.raises(zipkin.ZipkinError, match="apt-get install default-jre-headless"):
        zipkin.java()

"""The three ways to run share app-ids, ports, topics and component names: the compose and
Kubernetes resources are rendered from components/ and the launcher's topology, and stay so."""

import subprocess
import sys
from pathlib import Path

import yaml

from daprshop.topology import APP_IDS, Topology

REPO = Path(__file__).resolve().parents[2]


def test_rendered_compose_and_kubernetes_files_are_up_to_date() -> None:
    result = subprocess.run(
        [sys.executable, str(REPO / "deploy" / "render.py"), "--check"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout


def test_compose_runs_each_app_with_its_sidecar_on_the_same_ports() -> None:
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())["services"]
    topo = Topology.defaults(env={})
    for app_id in APP_IDS:
        ports = topo.apps[app_id]
        sidecar = compose[f"{app_id}-daprd"]
        cmd = sidecar["command"]
        assert sidecar["network_mode"] == f"service:{app_id}"
        assert cmd[cmd.index("--app-id") + 1] == app_id
        assert cmd[cmd.index("--app-port") + 1] == str(ports.app)
        assert cmd[cmd.index("--dapr-http-port") + 1] == str(ports.http)
        assert compose[app_id]["environment"]["DAPR_GRPC_PORT"] == str(ports.grpc)
    assert {"redis", "placement", "scheduler", "zipkin", "locust"} <= set(compose)


def test_kubernetes_annotations_and_components_match() -> None:
    apps = [
        d
        for d in yaml.safe_load_all((REPO / "deploy/k8s/base/apps.yaml").read_text())
        if d["kind"] == "Deployment"
    ]
    topo = Topology.defaults(env={})
    for d in apps:
        notes = d["spec"]["template"]["metadata"]["annotations"]
        assert notes["dapr.io/app-port"] == str(topo.apps[notes["dapr.io/app-id"]].app)
    assert sorted(
        n["spec"]["template"]["metadata"]["annotations"]["dapr.io/app-id"] for n in apps
    ) == sorted(APP_IDS)
    dapr = [d for d in yaml.safe_load_all((REPO / "deploy/k8s/base/dapr.yaml").read_text())]
    names = {d["metadata"]["name"] for d in dapr if d["kind"] == "Component"}
    assert names == {"pubsub", *(f"{a}-store" for a in APP_IDS)}
    assert any(d["kind"] == "Configuration" for d in dapr)

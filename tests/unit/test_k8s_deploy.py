"""The pure parts of putting daprshop on the cluster: the kustomization that swaps in local
stand-ins, the images a rendered overlay needs, pods' readiness, the Helm command, and the
Credentials read from the cluster's Secrets."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from daprshop import k8sdeploy
from daprshop.clusterstack import helm_command
from daprshop.k8ssecrets import from_secrets
from daprshop.topology import APP_IDS


def test_the_local_kustomization_is_the_overlay_plus_image_overrides_only() -> None:
    at = Path("/tmp/work/overlay")
    doc = json.loads(
        k8sdeploy.local_kustomization({"redis": "daprshop-standin/redis:bookworm"}, at)
    )
    (base,) = doc["resources"]
    assert not Path(base).is_absolute() and (at / base).resolve() == k8sdeploy.OVERLAY
    assert doc["images"] == [
        {"name": "redis", "newName": "daprshop-standin/redis", "newTag": "bookworm"}
    ]
    assert set(doc) == {"apiVersion", "kind", "resources", "images"}


def test_rendered_images_are_every_workloads_containers() -> None:
    pod = {"containers": [{"image": "daprshop/orders:0.1.0"}], "initContainers": [{"image": "i:1"}]}
    docs = [
        {"kind": "Deployment", "spec": {"template": {"spec": pod}}},
        {"kind": "Service", "spec": {"ports": []}},
    ]
    assert k8sdeploy.rendered_images(json.dumps({"items": docs})) == {
        "daprshop/orders:0.1.0",
        "i:1",
    }


def _pod(name: str, ready: list[bool]) -> dict[str, object]:
    names = ["app", "daprd"][: len(ready)]
    return {
        "metadata": {"name": name},
        "spec": {"containers": [{"name": n} for n in names]},
        "status": {
            "containerStatuses": [
                {"name": n, "ready": r} for n, r in zip(names, ready, strict=True)
            ]
        },
    }


def test_pod_readiness_counts_ready_containers_and_names_them() -> None:
    pods = {"items": [_pod("a", [True, False]), _pod("b", [True])]}
    assert k8sdeploy.pod_readiness(pods) == {"a": "1/2 app,daprd", "b": "1/1 app"}


def test_a_pod_not_yet_scheduled_counts_as_not_ready() -> None:
    pod = {"metadata": {"name": "p"}, "spec": {"containers": [{"name": "app"}]}, "status": {}}
    assert k8sdeploy.pod_readiness({"items": [pod]}) == {"p": "0/1 app"}


def test_the_helm_command_is_the_readmes_with_set_overrides() -> None:
    cmd = helm_command(
        k8sdeploy.REPO / "helm", k8sdeploy.REPO / "chart", ["--set=global.tag=1.18.2"]
    )
    assert cmd[1:5] == ["upgrade", "--install", "dapr", str(k8sdeploy.REPO / "chart")]
    assert cmd[cmd.index("--namespace") + 1] == "dapr-system"
    assert "--create-namespace" in cmd and "--wait" in cmd
    assert cmd[-1] == "--set=global.tag=1.18.2"


def _secret(name: str, **data: str) -> dict[str, object]:
    encoded = {k.replace("_", "-"): base64.b64encode(v.encode()).decode() for k, v in data.items()}
    return {"metadata": {"name": name}, "data": encoded}


def test_credentials_come_from_the_secrets_make_secrets_makes() -> None:
    items = [
        _secret("admin-token", admin_token="adm"),
        _secret("daprshop-redis", redis_password="r"),
    ]
    for app in APP_IDS:
        items += [
            _secret(f"{app}-api-token", token=f"{app}-a"),
            _secret(f"{app}-app-token", token=f"{app}-b"),
        ]
    creds = from_secrets(items)
    assert creds.admin_token == "adm" and creds.redis_password == "r"
    assert creds.api_tokens == {app: f"{app}-a" for app in APP_IDS}
    assert creds.operator_headers("orders") == {
        "dapr-api-token": "orders-b",
        "X-Admin-Token": "adm",
    }


def test_a_missing_secret_says_to_run_make_secrets() -> None:
    with pytest.raises(SystemExit, match=r"make-secrets\.sh"):
        from_secrets([_secret("admin-token", admin_token="adm")])

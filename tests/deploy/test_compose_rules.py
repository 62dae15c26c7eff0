"""The rules of docker-compose.yml that self-hosted has no counterpart for, on the resolved
model of the shipped file and on the file as it was before each rule (issue 14)."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from daprshop import composerules
from daprshop import deploycheck as dc
from daprshop import deployrules as rules
from daprshop import deploytools as tools

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.deploy
OLD_LOCUST_HEALTHCHECK = (
    'HEALTHCHECK --interval=10s --timeout=3s \\\n  CMD ["python", "-c", "import urllib.request;'
    " urllib.request.urlopen('http://127.0.0.1:8089/', timeout=2)\"]\n"
)


@pytest.fixture(scope="module")
def model_and_dockerfiles() -> tuple[tools.Doc, dict[str, str]]:
    with dc.compose_project() as compose_file:
        model = tools.compose_config(compose_file)
        return model, composerules.image_dockerfiles(model, compose_file.parent, REPO)


def test_every_healthcheck_probes_a_port_of_its_own_service(
    model_and_dockerfiles: tuple[tools.Doc, dict[str, str]],
) -> None:
    """The shipped file: a pod probes its app's port and its sidecar's, a sidecar its HTTP
    port, placement and the scheduler their --healthz-port, the locust master :8089, the
    worker its connection to the master's 5557."""
    model, dockerfiles = model_and_dockerfiles
    assert composerules.healthcheck_problems(model, dockerfiles) == []
    services = model["services"]
    assert "8089" in " ".join(services["locust-master"]["healthcheck"]["test"])
    assert "':15B5'" in " ".join(services["locust-worker"]["healthcheck"]["test"])
    pod = " ".join(services["orders-pod"]["healthcheck"]["test"])
    assert "127.0.0.1:8001/healthz" in pod and "127.0.0.1:3501/v1.0/healthz" in pod


def test_a_probe_of_a_port_outside_the_services_namespace_is_reported(
    model_and_dockerfiles: tuple[tools.Doc, dict[str, str]],
) -> None:
    """inventory's pod probing orders' sidecar (3501), served in orders' pod only; and
    placement probing its healthz port once the flag that serves it is gone."""
    model, dockerfiles = model_and_dockerfiles
    services = copy.deepcopy(model["services"])
    test = services["inventory-pod"]["healthcheck"]["test"]
    test[-1] = test[-1].replace(":3502/", ":3501/")
    services["placement"]["command"] = services["placement"]["command"][:3]
    problems = composerules.healthcheck_problems({"services": services}, dockerfiles)
    assert problems == [
        "compose inventory-pod: its healthcheck probes port 3501, which inventory-pod does not"
        " serve (it serves ['3502', '50002', '50012', '8002', '9102'])",
        "compose placement: its healthcheck probes port 8080, which placement does not serve"
        " (it serves ['50005'])",
    ]


def test_a_worker_that_watches_another_connection_than_its_masters_is_reported(
    model_and_dockerfiles: tuple[tools.Doc, dict[str, str]],
) -> None:
    """The worker connects to the master's 5557 only; a probe for a connection to the web UI
    (8089, hex 1F99) would never see one, and `up --wait` would fail."""
    model, dockerfiles = model_and_dockerfiles
    services = copy.deepcopy(model["services"])
    test = services["locust-worker"]["healthcheck"]["test"]
    test[-1] = test[-1].replace("':15B5'", "':1F99'")
    problems = composerules.healthcheck_problems({"services": services}, dockerfiles)
    assert problems == [
        "compose locust-worker: its healthcheck watches a connection to port 8089, which"
        " locust-worker does not connect to (it connects to ['5557'])"
    ]


def test_a_locust_image_that_probes_the_masters_port_is_reported(
    model_and_dockerfiles: tuple[tools.Doc, dict[str, str]],
) -> None:
    """The image's HEALTHCHECK before issue 14 probed :8089 in the worker too, which serves
    nothing, so the worker (then without a healthcheck of its own) never became healthy and
    `up --wait` failed."""
    model, dockerfiles = model_and_dockerfiles
    services = copy.deepcopy(model["services"])
    del services["locust-worker"]["healthcheck"]
    image = services["locust-worker"]["image"]
    old = dockerfiles[image].replace("ENTRYPOINT", OLD_LOCUST_HEALTHCHECK + "ENTRYPOINT")
    problems = composerules.healthcheck_problems(
        {"services": services}, {**dockerfiles, image: old}
    )
    assert problems == [
        f"compose locust-worker: its image's HEALTHCHECK ({image}) probes port"
        " 8089, which locust-worker does not serve (it serves none)"
    ]


def test_container_configurations_keep_to_daprs_default_name_resolution() -> None:
    """compose (mDNS) and the Kubernetes base (DNS): no nameResolution, no comment that says
    names resolve through SQLite."""
    files = composerules.configuration_files(REPO)
    assert len(files) == 5  # four apps under compose, and the k8s base
    assert [
        p for f, text in files.items() for p in composerules.name_resolution_problems(f, text)
    ] == []


def test_the_sqlite_comment_and_resolver_of_make_run_are_reported() -> None:
    """The note deploy/compose/configuration.yaml and the k8s base carried before issue 14,
    and make run's own Configuration, which does resolve through SQLite."""
    make_run = (REPO / "components" / "configuration" / "orders.yaml").read_text()
    problems = composerules.name_resolution_problems("orders.yaml", make_run)
    assert len(problems) == 2
    assert "speaks of SQLite" in problems[0]
    assert "sets nameResolution" in problems[1]


def test_every_port_is_published_on_loopback_at_a_variable(
    model_and_dockerfiles: tuple[tools.Doc, dict[str, str]], expected: rules.Expected
) -> None:
    """The shipped file as written, and as compose resolves it: 127.0.0.1 only, make run's
    ports by default, each app's published by its pod, and no sidecar API on the host."""
    raw = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    assert composerules.port_problems(raw, expected.ports) == []
    model, _ = model_and_dockerfiles
    published = {
        (name, p["host_ip"], p["published"], p["target"])
        for name, service in model["services"].items()
        for p in service.get("ports") or []
    }
    apps = {(f"{app}-pod", "127.0.0.1", str(port), port) for app, port in expected.ports.items()}
    others = {("zipkin", "127.0.0.1", "9411", 9411), ("locust-master", "127.0.0.1", "8089", 8089)}
    assert published == apps | others


def test_ports_on_all_interfaces_fixed_or_off_make_runs_are_reported(
    expected: rules.Expected,
) -> None:
    """The form docker-compose.yml had before issue 14 (`8001:8001`, and the sidecar's
    `3501:3501`, published by the app, not by its pod), a variable whose default is not make
    run's port, and a fixed container name."""
    raw = {
        "services": {
            "orders": {"ports": ["8001:8001", "3501:3501"]},
            "orders-pod": {},
            "inventory-pod": {"ports": ["127.0.0.1:${DAPRSHOP_INVENTORY_APP_PORT:-8012}:8002"]},
            "payments-pod": {"ports": ["127.0.0.1:${DAPRSHOP_PAYMENTS_APP_PORT:-8003}:8003"]},
            "shipping-pod": {"container_name": "shipping"},
        }
    }
    problems = composerules.port_problems(raw, expected.ports)
    assert [p.split(":")[0] for p in problems] == [
        "compose inventory-pod",
        "compose orders",
        "compose orders",
        "compose orders",
        "compose orders-pod",
        "compose shipping-pod",
        "compose shipping-pod",
    ]
    assert "defaults to 8012, want 8002" in problems[0]
    assert "publishes ports itself; its pod orders-pod does" in problems[3]
    assert "not published at make run's 8001" in problems[4]
    assert "container_name fixed" in problems[5]
    assert "not published at make run's 8004" in problems[6]

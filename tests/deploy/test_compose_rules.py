"""The rules of docker-compose.yml that self-hosted has no counterpart for, on the resolved
model of the shipped file and on the file as it was before each rule (issue 14)."""

from __future__ import annotations

from pathlib import Path

import pytest

from daprshop import composerules
from daprshop import deploycheck as dc
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
    """The shipped file: the apps probe APP_PORT, the locust master :8089, the worker nothing."""
    model, dockerfiles = model_and_dockerfiles
    assert composerules.healthcheck_problems(model, dockerfiles) == []
    assert "8089" in " ".join(model["services"]["locust-master"]["healthcheck"]["test"])


def test_a_locust_image_that_probes_the_masters_port_is_reported(
    model_and_dockerfiles: tuple[tools.Doc, dict[str, str]],
) -> None:
    """The image's HEALTHCHECK before issue 14 probed :8089 in the worker too, which serves
    nothing, so the worker never became healthy and `up --wait` failed."""
    model, dockerfiles = model_and_dockerfiles
    image = model["services"]["locust-worker"]["image"]
    old = dockerfiles[image].replace("ENTRYPOINT", OLD_LOCUST_HEALTHCHECK + "ENTRYPOINT")
    problems = composerules.healthcheck_problems(model, {**dockerfiles, image: old})
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

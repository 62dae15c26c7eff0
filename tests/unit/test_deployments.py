"""The generated deployment files (Dapr components, dapr.yaml, compose, Kubernetes base and
production overlay, Dockerfiles) are rendered from the topology, deploy/templates/ and the
pinned Dapr version, and stay so; a participant added to the saga reaches every one of them
with no hand-written YAML edit. What they render to is validated in tests/deploy."""

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from daprshop import topology

REPO = Path(__file__).resolve().parents[2]


def test_rendered_compose_and_kubernetes_files_are_up_to_date() -> None:
    result = subprocess.run(
        [sys.executable, str(REPO / "deploy" / "render.py"), "--check"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout


def load_render() -> ModuleType:
    spec = importlib.util.spec_from_file_location("render", REPO / "deploy" / "render.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_new_participant_is_rendered_wherever_the_others_are(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With `loyalty` added to the saga, each generated file names it as often as it names
    shipping (a store, scopes, a resiliency target, a sidecar, a PDB and an HPA...)."""
    render = load_render()
    monkeypatch.setattr(topology, "PARTICIPANTS", (*topology.PARTICIPANTS, "loyalty"))
    monkeypatch.setattr(topology, "APP_IDS", (*topology.APP_IDS, "loyalty"))
    # Its package would be services/loyalty/pyproject.toml; here only the YAML is in question.
    monkeypatch.setattr(render, "image_packages", lambda app, _repo: [f"services/{app}"])
    files = render.outputs()
    assert REPO / "services" / "loyalty" / "Dockerfile" in files
    for path, text in files.items():
        if path.name != "Dockerfile":  # one per app
            assert text.count("loyalty") == text.count("shipping"), path.relative_to(REPO)
    assert "loyalty-store" in files[REPO / "components" / "statestore.yaml"]


def test_no_hand_written_yaml_lists_the_services() -> None:
    """Every file that names all the participants is generated (or is a template that a
    participant reaches through the topology), so adding one needs no YAML edit."""
    generated = set(load_render().outputs())
    yaml_files = [
        *REPO.glob("components/**/*.yaml"),
        *REPO.glob("deploy/**/*.yaml"),
        REPO / "dapr.yaml",
        REPO / "docker-compose.yml",
    ]
    by_hand = [p for p in yaml_files if p not in generated]
    assert by_hand, "no hand-written YAML found"
    for path in by_hand:
        text = path.read_text()
        named = [app for app in topology.PARTICIPANTS if app in text]
        assert named != list(topology.PARTICIPANTS), f"{path.relative_to(REPO)} lists {named}"

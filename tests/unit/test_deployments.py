"""The generated deployment files (Dapr components, dapr.yaml, compose, Kubernetes base and
production overlay, Dockerfiles) are rendered from the topology, deploy/templates/ and the
pinned Dapr version, and stay so; a participant added to the saga reaches every one of them
with no hand-written YAML edit. What they render to is validated in tests/deploy."""

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType

from daprshop import launch, topology

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


# Renders every file as if libs/contracts' saga had the four steps of tests/unit/four_step.py
# (loyalty between the charge and the shipment), in a fresh interpreter: the topology, the
# access policies and the topic scopes read the saga when they are imported.
FOUR_STEP_RENDER = """
import json, sys
from daprshop_contracts import events, saga
from tests.unit.four_step import AWARD, FOUR_STEP

saga.ORDER_SAGA, saga.PARTICIPANTS = FOUR_STEP, FOUR_STEP.participants
events.EVENTS.update({e.TYPE: e for e in (AWARD.succeeded, AWARD.failed, AWARD.compensated)})
sys.argv = ["render"]
import importlib.util
spec = importlib.util.spec_from_file_location("render", "deploy/render.py")
render = importlib.util.module_from_spec(spec)
spec.loader.exec_module(render)
# Its package would be services/loyalty/pyproject.toml; here only the YAML is in question.
render.image_packages = lambda app, _repo: [f"services/{app}"]
print(json.dumps({str(p.relative_to(render.REPO)): t for p, t in render.outputs().items()}))
"""


def test_every_third_party_image_is_upstreams_unless_a_variable_replaces_it() -> None:
    """docker-compose.yml names each third-party image as `${DAPRSHOP_*_IMAGE:-upstream}`
    (the bases of the Dockerfiles as build args), so a test substitutes stand-ins without
    editing a file, and a user without those variables gets the pinned upstream images."""
    render = load_render()
    text = (REPO / "docker-compose.yml").read_text()
    for var, upstream in render.IMAGE_VARS.items():
        assert f"${{{var}:-{upstream}}}" in text, var
        assert "daprshop-standin" not in upstream
    images = [line.split("image:")[1].strip() for line in text.splitlines() if "image:" in line]
    assert [i for i in images if "daprshop/" not in i and "DAPRSHOP_" not in i] == []
    for app in launch.python_apps():
        dockerfile = (REPO / "services" / app / "Dockerfile").read_text()
        assert f"ARG PYTHON_IMAGE={render.PYTHON_IMAGE}\n" in dockerfile
        assert dockerfile.count("FROM ${PYTHON_IMAGE}") == 2
    for go in launch.go_apps():  # the builder only: the binary runs on scratch
        dockerfile = (REPO / "services" / go.app_id / "Dockerfile").read_text()
        assert f"ARG GO_IMAGE={render.GO_IMAGE}\n" in dockerfile
        assert dockerfile.count("FROM ${GO_IMAGE}") == 1


def test_a_new_participant_is_rendered_wherever_the_others_are() -> None:
    """With `loyalty` added to the saga, each generated file names it as often as it names
    shipping (a store, scopes, topic scopes, a resiliency target, a sidecar, its tokens, an
    access policy, a PDB and an HPA...); each app's own files (its Dockerfile, its sidecar
    Configuration) exist for loyalty too."""
    result = subprocess.run(
        [sys.executable, "-c", FOUR_STEP_RENDER], capture_output=True, text=True, cwd=REPO
    )
    assert result.returncode == 0, result.stderr
    files: dict[str, str] = json.loads(result.stdout)
    assert "services/loyalty/Dockerfile" in files
    assert "deploy/compose/configuration/loyalty.yaml" in files
    assert "/commands/AwardPoints" in files["components/configuration/loyalty.yaml"]
    for path, text in files.items():
        if Path(path).stem not in (*topology.APP_IDS, "loyalty", "Dockerfile"):  # one per app
            assert text.count("loyalty") == text.count("shipping"), path
    assert "loyalty-store" in files["components/statestore.yaml"]
    assert "loyalty=payments,shipping,diagnostics" in files["components/pubsub.yaml"]
    assert "put loyalty-api-token token" in files["deploy/k8s/make-secrets.sh"]


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


# A stand-in for kubectl: `get` finds a Secret if KUBECTL_HAS_SECRETS is set; `create` prints
# its arguments and what it read from stdin where `--dry-run=client -o yaml` prints the object;
# `apply` records what it is given.
FAKE_KUBECTL = """#!/bin/sh
echo "$*" >> "$KUBECTL_LOG.argv"
case "$*" in
  *" get secret "*) [ -n "${KUBECTL_HAS_SECRETS:-}" ] ;;
  *"create secret"*) echo "ARGS $*"; echo "STDIN $(cat)" ;;
  *"create namespace"*) echo "namespace" ;;
  "apply -f -") cat >> "$KUBECTL_LOG.applied"; echo "---" >> "$KUBECTL_LOG.applied" ;;
esac
"""


def make_secrets(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    kubectl = tmp_path / "kubectl"
    kubectl.write_text(FAKE_KUBECTL)
    kubectl.chmod(0o755)
    env = {"PATH": f"{tmp_path}:/usr/bin:/bin", "KUBECTL_LOG": str(kubectl), **env}
    script = REPO / "deploy" / "k8s" / "make-secrets.sh"
    result = subprocess.run(["sh", str(script), *args], env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return result


def test_make_secrets_makes_each_secret_at_random_and_puts_no_value_on_a_command_line(
    tmp_path: Path,
) -> None:
    """deploy/k8s/make-secrets.sh makes every Secret the Kubernetes rendering reads (two
    tokens per app, the admin token, Redis's), each value new and read from stdin."""
    make_secrets(tmp_path)
    log = tmp_path / "kubectl"
    applied = log.with_suffix(".applied").read_text().split("---\n")
    made = {a.split()[6]: a for a in applied if "create secret" in a}
    tokens = [f"{app}-{kind}-token" for app in topology.APP_IDS for kind in ("api", "app")]
    assert sorted(made) == sorted([*tokens, "admin-token", "daprshop-redis"])
    values = [a.split("STDIN ", 1)[1].strip() for a in made.values()]
    assert len(set(values)) == len(values) and all(len(v) >= 30 for v in values)
    argv = log.with_suffix(".argv").read_text()
    assert not any(v in argv for v in values)
    assert "--from-file=token=/dev/stdin" in made["orders-api-token"]
    assert "--from-literal=redis-host=redis:6379" in made["daprshop-redis"]


def test_make_secrets_keeps_what_exists_unless_told_to_rotate(tmp_path: Path) -> None:
    kept = make_secrets(tmp_path, KUBECTL_HAS_SECRETS="1")
    assert kept.stdout.count(" kept") == 2 * len(topology.APP_IDS) + 2
    assert "create secret" not in (tmp_path / "kubectl.argv").read_text()
    rotated = make_secrets(tmp_path, "--rotate", KUBECTL_HAS_SECRETS="1")
    assert " kept" not in rotated.stdout
    assert (tmp_path / "kubectl.argv").read_text().count("create secret") == 10

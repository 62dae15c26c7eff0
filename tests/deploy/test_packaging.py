"""The Python packages of the repository: one per library and per Python service (none beside a
Go one), each with the project's version; the root project is only the CLI and the load tests;
the lock pins every third-party dependency; `make setup` installs every package in one pip
call, a new service included."""

from __future__ import annotations

import shutil
import subprocess
import tomllib
from pathlib import Path

from daprshop import launch
from daprshop.packages import local_packages, read, requirement_name, third_party

REPO = Path(__file__).resolve().parents[2]


def test_one_package_per_library_and_service_each_at_the_project_version() -> None:
    version = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
    local = local_packages()
    assert {p.path for p in local.values()} == {
        "libs/contracts",
        "libs/platform",
        *(f"services/{app}" for app in launch.python_apps()),
    }
    for go in launch.go_apps():  # one implementation per service: no Python package beside it
        assert not (REPO / "services" / go.app_id / "pyproject.toml").exists(), go.app_id
    for package in local.values():
        project = tomllib.loads((REPO / package.path / "pyproject.toml").read_text())["project"]
        assert project["version"] == version, package.path  # one image tag for every image


def test_contracts_need_pydantic_only_and_services_build_on_the_platform() -> None:
    local = local_packages()
    names = {p.path: {requirement_name(d) for d in p.dependencies} for p in local.values()}
    assert names["libs/contracts"] == {"pydantic"}
    assert "daprshop-contracts" in names["libs/platform"]
    for app in launch.python_apps():
        assert names[f"services/{app}"] == {"daprshop-platform"}, app


def test_the_root_project_is_only_the_cli_and_the_load_tests() -> None:
    setuptools = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert sorted(setuptools["packages"]) == ["daprshop", "loadtests"]


def test_the_lock_pins_every_third_party_runtime_dependency() -> None:
    local = local_packages()
    lines = (REPO / "requirements.lock").read_text().splitlines()
    pins = dict(line.split("==") for line in lines if line and not line.startswith("#"))
    wanted = third_party([read(REPO / "pyproject.toml"), *local.values()], local)
    assert wanted, "no third-party dependency found"
    missing = [d for d in wanted if requirement_name(d) not in pins]
    assert missing == [], "run `.venv/bin/python tools/lock.py`"


def test_setup_installs_every_package_editable_in_one_pip_call(tmp_path: Path) -> None:
    """A new service folder is picked up by the Makefile's glob: no Makefile edit."""
    for name in ("Makefile", "requirements.lock"):
        shutil.copy(REPO / name, tmp_path / name)
    for pyproject in [REPO / "pyproject.toml", *REPO.glob("*/*/pyproject.toml")]:
        target = tmp_path / pyproject.relative_to(REPO)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(pyproject, target)
    new = tmp_path / "services" / "loyalty" / "pyproject.toml"
    new.parent.mkdir()
    new.write_text((REPO / "services" / "payments" / "pyproject.toml").read_text())
    out = subprocess.run(
        ["make", "-n", "-B", "-C", str(tmp_path), ".venv/.installed"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    installs = [line for line in out.splitlines() if "pip install" in line and "-e" in line]
    assert len(installs) == 1, out
    words = installs[0].split()
    editable = {words[i + 1] for i, w in enumerate(words) if w == "-e"}
    expected = {p.path for p in local_packages().values()} | {"services/loyalty"}
    assert editable == {"'.[dev]'", *expected}
    assert "-c requirements.lock" in installs[0]

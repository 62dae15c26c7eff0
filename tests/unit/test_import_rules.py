"""The import rules in pyproject.toml ([tool.importlinter]) hold for the code, and import-linter
really catches a breach of each kind: a framework in the contracts, a service importing
another, Dapr reached from a domain module through another module."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from daprshop import launch

REPO = Path(__file__).resolve().parents[2]
LINT = Path(sys.executable).with_name("lint-imports")
PACKAGES = {
    "daprshop_contracts": "libs/contracts",
    "daprshop_platform": "libs/platform",
    # the Python services (a Go one has its own layout: services/<app>/internal)
    **{app: f"services/{app}" for app in launch.python_apps()},
}


def lint(pythonpath: list[Path] | None = None) -> subprocess.CompletedProcess[str]:
    env = {"PATH": "/usr/bin:/bin"}
    if pythonpath:
        env["PYTHONPATH"] = ":".join(map(str, pythonpath))
    return subprocess.run(
        [str(LINT), "--config", str(REPO / "pyproject.toml"), "--no-cache"],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
    )


def test_the_code_keeps_every_import_rule() -> None:
    result = lint()
    assert result.returncode == 0, result.stdout
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "line", "broken"),
    [
        ("daprshop_contracts/events.py", "import fastapi", "Contracts are data"),
        ("inventory/handlers.py", "from payments import domain", "don't import each other"),
        ("payments/domain.py", "from payments import deps", "Domain modules import neither"),
    ],
)
def test_a_deliberate_violation_fails_the_lint(
    tmp_path: Path, module: str, line: str, broken: str
) -> None:
    roots = []
    for package, home in PACKAGES.items():
        shutil.copytree(REPO / home / package, tmp_path / home / package)
        roots.append(tmp_path / home)
    target = next(tmp_path.glob(f"*/*/{module}"))
    target.write_text(target.read_text() + f"\n{line}  # a deliberate violation\n")
    result = lint(roots)
    assert result.returncode != 0
    assert f"{broken}" in result.stdout and "BROKEN" in result.stdout, result.stdout

"""The generated deployment files (compose, Kubernetes base, Dockerfiles) are rendered from
components/, the launcher's topology and the pinned Dapr version, and stay so. What they
render to is validated in tests/deploy."""

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_rendered_compose_and_kubernetes_files_are_up_to_date() -> None:
    result = subprocess.run(
        [sys.executable, str(REPO / "deploy" / "render.py"), "--check"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout

"""A few seconds of the real locustfile against the test stack, so it never rots. It checks
only that orders completed and `verify` passed, never speed."""

from pathlib import Path

import pytest

from daprshop.stack import Stack
from loadtests.harness import run_locust

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("mode", ["choreography", "orchestration", "hybrid"])
def test_a_short_headless_locust_run_completes_orders_and_verify_passes(
    stack: Stack, tmp_path: Path, mode: str
) -> None:
    run = run_locust(stack, mode, rate=5, duration_s=4, out=tmp_path, users=5)
    assert run.returncode in (0, 1), (tmp_path / "locust.log").read_text()
    assert run.sagas > 0, run.rows
    assert run.violations == []
    assert (tmp_path / "report.html").exists() and (tmp_path / "summary.json").exists()

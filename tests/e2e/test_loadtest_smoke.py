"""A few seconds of the real locustfile against the test stack, so it never rots. It checks
only that orders completed and `verify` passed, never speed."""

from pathlib import Path

import pytest

from daprshop.stack import Stack
from loadtests import meshcalls
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


def test_the_mesh_cost_calls_succeed_on_every_path(stack: Stack) -> None:
    """`make mesh-cost`'s call paths, a few calls each on the test stack (standing in for
    both of its stacks): every call answers 200 and is counted, with the CPU of its path."""
    calls = meshcalls.measure(stack, stack, calls=30, rounds=3, warmup=5)
    assert [c["path"] for c in calls] == ["direct", "two sidecars", "two sidecars, mTLS"]
    assert all(c["calls"] == 30 and c["p50_ms"] > 0 for c in calls), calls
    assert "sidecar" in calls[1]["cpu_us_per_call"] and "sidecar" not in calls[0]["cpu_us_per_call"]

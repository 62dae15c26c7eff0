"""The chaos matrix, short: one fault of each class, the modes rotating so each appears,
a small load on a fresh stack per cell. After the fault stops, every accepted order is
terminal within 30 s and `verify` finds nothing (`make chaos` runs the whole matrix)."""

from pathlib import Path

import pytest

from loadtests.chaos import evidence
from loadtests.chaos_cell import DEADLINE_S, run_cell
from loadtests.chaos_faults import fault

pytestmark = pytest.mark.e2e

CELLS = [
    ("kill -9 orders", "choreography"),
    ("kill -9 payments-daprd", "orchestration"),
    ("kill -9 placement", "hybrid"),
    ("restart redis", "orchestration"),
    ("duplicate+reorder", "choreography"),
    ("latency", "hybrid"),
]


@pytest.mark.parametrize(("name", "mode"), CELLS, ids=[f"{n}-{m}" for n, m in CELLS])
def test_after_a_fault_every_order_ends_and_verify_passes(
    name: str, mode: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One fault mid-load in one mode: all terminal within 30 s of it stopping, 0 violations."""
    monkeypatch.setenv("DAPRSHOP_SAGA_TIMEOUT_S", "40")  # locust's pollers give up then
    chaos = fault(name)
    result = run_cell(
        chaos, mode, tmp_path, rate=3, duration_s=10, hold_s=1.0 if chaos.kills else 4.0
    )
    why = "\n".join(evidence(result))
    assert result.error is None, why
    assert result.orders > 0, why
    assert result.recovery_s is not None and result.recovery_s <= DEADLINE_S, why
    assert result.all_terminal, why
    assert result.violations == [], why
    assert result.wrong_outcomes == [], why

"""The opt-in outbox publication (`DAPRSHOP_PUBLISH_VIA=outbox`) on a stack of its own: each
mode completes, a business failure is compensated, and verify passes."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import running_stack
from tests.e2e.test_verify import run_verify
from tests.shop import Shop

pytestmark = pytest.mark.e2e
SKU = "SKU-017"
MODES = ("choreography", "orchestration", "hybrid")


@pytest.fixture(scope="module")
def shop(dapr_bin: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shop]:
    for s in running_stack(
        tmp_path_factory.mktemp("outbox"), dapr_bin, DAPRSHOP_PUBLISH_VIA="outbox"
    ):
        yield Shop.of(s)


def test_every_mode_completes_and_compensates_through_the_outbox(shop: Shop) -> None:
    shop.set_stock({SKU: 20})
    placed = [shop.place_ok([(SKU, 1)], mode=mode) for mode in MODES]
    placed += [shop.place_ok([(SKU, 1)], mode=mode, country="AQ") for mode in MODES]
    orders = [shop.terminal(p["order_id"], timeout=60) for p in placed]
    outcomes = [(o["mode"], o["status"], o["reason"]) for o in orders]
    assert outcomes == [(m, "COMPLETED", None) for m in MODES] + [
        (m, "CANCELLED", "shipping_failed") for m in MODES
    ]
    shop.assert_conserved(orders, SKU, 20)
    result = run_verify(shop)
    assert result.returncode == 0, result.stdout + result.stderr

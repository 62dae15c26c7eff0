"""Circuit breaking and retries, watched in Dapr's own metrics: payments fails every charge,
orders' sidecar opens its breaker for payments (dapr_resiliency_cb_state); the workflow keeps
retrying, so once payments is back the same order completes, charged once and never
compensated; then the breaker has closed. In orchestration and in hybrid, whose workflow
charges by invocation too (choreography reaches payments by pub/sub: no app breaker)."""

import time

import pytest

from daprshop.daprmetrics import Breaker, metrics_url, read_breaker
from daprshop.stack import Stack
from tests.shop import TERMINAL, Shop
from tests.waiting import eventually

pytestmark = pytest.mark.e2e
SKU = "SKU-019"
EVERY_CHARGE_FAILS = {"ChargePayment": {"error_rate": 1.0}}  # a 503 each call, never a decline


@pytest.fixture(scope="module")
def shop(stack: Stack) -> Shop:
    return Shop.of(stack)


@pytest.mark.parametrize("mode", ["orchestration", "hybrid"])
def test_the_breaker_opens_while_payments_fails_and_closes_once_the_retried_saga_completes(
    shop: Shop, stack: Stack, mode: str
) -> None:
    """Open while every charge fails; the order completes once payments is back; closed."""
    url = metrics_url(stack.topo.apps["orders"].metrics)

    def payments() -> Breaker:
        return read_breaker(url, "payments")

    shop.set_stock({SKU: 10})
    before = payments()
    shop.faults("payments", EVERY_CHARGE_FAILS)
    try:
        oid = shop.place_ok([(SKU, 1)], mode=mode)["order_id"]
        placed = time.monotonic()
        opened = eventually(
            lambda: b if (b := payments()).state == "open" and b.opened > before.opened else None,
            timeout=30,
            what="orders' breaker for payments to open",
        )
        print(f"\n{mode}: +{time.monotonic() - placed:.1f}s {opened.line}")
        order = shop.order(oid)
        assert order["status"] not in TERMINAL, order
        assert "PaymentCharged" not in [t["event"] for t in order["timeline"]]
    finally:
        shop.faults("payments", {})
    cleared = time.monotonic()

    order = shop.terminal(oid, timeout=45)
    print(f"{mode}: {order['status']} {time.monotonic() - cleared:.1f}s after payments was back")
    assert order["status"] == "COMPLETED", order
    events = [t["event"] for t in order["timeline"]]
    assert "StockReleased" not in events, events  # retried, not compensated
    payment = shop.payment(oid)
    assert payment is not None and len(payment["charges"]) == 1, payment
    assert (payment["charged"], payment["refunded"]) == (order["total"], 0)

    closed = eventually(
        lambda: b if (b := payments()).closed > before.closed else None,
        timeout=15,
        what="orders' breaker for payments to close",
    )
    # Dapr shows the state a call starts in: the next charge starts with the breaker closed
    after = shop.terminal(shop.place_ok([(SKU, 1)], mode=mode)["order_id"])
    assert after["status"] == "COMPLETED", after
    shown = eventually(
        lambda: b if (b := payments()).state == "closed" else None,
        timeout=10,
        what="dapr_resiliency_cb_state to show payments' breaker closed",
    )
    print(f"{mode}: {shown.line} ({closed})")
    shop.assert_conserved([order, after], SKU, 10)

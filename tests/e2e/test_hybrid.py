"""Hybrid: the workflow runs reserve and charge, choreography runs shipping, and a shipping
outcome that comes too late is compensated, shipment included. The workflow alone decides:
an outcome racing the time-out ends COMPLETED or compensated, never both."""

import pytest

from daprshop.stack import Stack
from tests.conftest import HYBRID_TIMEOUT_S
from tests.shop import Shop
from tests.waiting import eventually

pytestmark = pytest.mark.e2e
SKU = "SKU-007"


@pytest.fixture(scope="module")
def shop(stack: Stack) -> Shop:
    return Shop.of(stack)


def test_shipping_slower_than_the_time_out_cancels_refunds_and_cancels_the_late_shipment(
    shop: Shop,
) -> None:
    shop.set_stock({SKU: 20})
    late_by = HYBRID_TIMEOUT_S + 3
    # every ScheduleShipment is late while this order runs (not just the next one: another
    # test's order still in flight could take a one-shot fault)
    shop.faults("shipping", {"ScheduleShipment": {"delay_before_s": late_by}})
    refused = shop.stats("shipping").get("refused", 0)
    try:
        order = shop.terminal(
            shop.place_ok([(SKU, 2)], mode="hybrid")["order_id"], timeout=HYBRID_TIMEOUT_S + 30
        )
    finally:
        shop.faults("shipping", {})
    oid = order["order_id"]
    assert (order["status"], order["reason"]) == ("CANCELLED", "timed_out")
    timeline = [t["event"] for t in order["timeline"]]
    assert {"SagaStopped", "ShipmentCancelled", "PaymentRefunded", "StockReleased"} <= set(timeline)
    payment = shop.payment(oid)
    assert payment is not None and payment["charged"] == payment["refunded"] == order["total"]
    assert shop.stock(SKU)["available"] == 20
    eventually(
        lambda: shop.stats("shipping").get("refused", 0) > refused or None,
        timeout=late_by + 20,
        what="the late ScheduleShipment to be refused",
    )
    shipment = shop.shipment(oid)
    assert shipment is not None and shipment["status"] == "cancelled"
    assert shipment["shipment_id"] is None
    assert shop.order(oid)["status"] == "CANCELLED"


def test_hybrid_publishes_only_the_events_that_hand_over_to_choreography(shop: Shop) -> None:
    """Reserve runs by invocation and publishes nothing, so payments receives no
    StockReserved; the charge is published, because shipping reacts to it."""
    shop.set_stock({SKU: 20})
    received = {a: shop.stats(a).get("events_received", 0) for a in ("payments", "shipping")}
    order = shop.terminal(shop.place_ok([(SKU, 1)], mode="hybrid")["order_id"])
    assert order["status"] == "COMPLETED"
    # the order is COMPLETED by the workflow's verdict, which it records just before it ends
    eventually(
        lambda: shop.order(order["order_id"])["workflow"]["runtime_status"] == "COMPLETED" or None,
        what="the hybrid workflow to complete",
    )
    assert shop.stats("shipping").get("events_received", 0) == received["shipping"] + 1
    assert shop.stats("payments").get("events_received", 0) == received["payments"]


def test_a_shipment_racing_the_time_out_is_either_completed_or_undone_never_both(
    shop: Shop,
) -> None:
    """Shipping answers just about when the workflow's timer fires. Whichever wins, an order
    seen COMPLETED stays COMPLETED with its charge and shipment, and one that timed out is
    refunded, released and its shipment cancelled."""
    shop.set_stock({SKU: 20})
    ids = []
    try:
        # one order per delay, from just before the time-out to just after it: each order's
        # ScheduleShipment takes the one-shot fault before the next order is placed
        for delay in (-0.6, -0.3, -0.1, 0.0, 0.1, 0.3):
            shop.faults(
                "shipping",
                {"ScheduleShipment": {"delay_before_s": HYBRID_TIMEOUT_S + delay, "times": 1}},
            )
            ids.append(shop.place_ok([(SKU, 1)], mode="hybrid")["order_id"])
            eventually(
                lambda: shop.fault_plan("shipping") == {} or None,
                what="the shipment to take its delay",
            )
        seen: dict[str, set[str]] = {oid: set() for oid in ids}

        def all_ended() -> list[dict[str, object]] | None:
            orders = [shop.order(oid) for oid in ids]
            for o in orders:
                seen[str(o["order_id"])].add(str(o["status"]))
            return (
                orders if all(o["status"] in ("COMPLETED", "CANCELLED") for o in orders) else None
            )

        ended = eventually(
            all_ended, timeout=HYBRID_TIMEOUT_S + 40, what="the racing orders to end"
        )
    finally:
        shop.faults("shipping", {})
    for o in ended:
        oid = str(o["order_id"])
        if "COMPLETED" in seen[oid]:
            assert o["status"] == "COMPLETED", f"{oid} was shown COMPLETED, then {o['status']}"
        else:
            assert (o["status"], o["reason"]) == ("CANCELLED", "timed_out"), o
    # after both sides of the race settled: money, stock and shipments agree with statuses
    eventually(
        lambda: (
            all(
                shop.order(str(o["order_id"]))["workflow"]["runtime_status"] == "COMPLETED"
                for o in ended
            )
            or None
        ),
        timeout=30,
        what="every racing workflow to finish",
    )
    shop.assert_conserved(ended, SKU, 20)  # type: ignore[arg-type]

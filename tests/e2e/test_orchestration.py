"""The orchestrated saga survives what orchestration promises to survive: a crash of its own
host mid-saga, a participant down for a while, a reply lost after the effect; and an operator
can inspect and terminate it."""

from collections.abc import Iterator
from typing import Any

import pytest

from daprshop.stack import Stack
from tests.shop import TERMINAL, Shop, http
from tests.waiting import eventually

pytestmark = pytest.mark.e2e
SKU = "SKU-005"


@pytest.fixture(scope="module")
def shop(stack: Stack) -> Shop:
    return Shop.of(stack)


@pytest.fixture
def sku(shop: Shop) -> Iterator[str]:
    shop.set_stock({SKU: 40})
    yield SKU
    for app in ("inventory", "payments", "shipping"):
        shop.faults(app, {})


def test_an_orchestrated_order_shows_its_workflow(shop: Shop, sku: str) -> None:
    """The order is COMPLETED once its last step is recorded; the workflow that recorded it
    returns a moment later (a CI run read RUNNING in between), so its status is awaited."""
    order = shop.terminal(shop.place_ok([(sku, 1)], mode="orchestration")["order_id"])
    assert order["workflow"]["instance_id"] == order["order_id"]
    url = f"{shop.orders}/orders/{order['order_id']}/workflow"

    def completed() -> dict[str, Any] | None:
        status, view, _ = http("GET", url, headers=shop.auth("orders"))
        assert status == 200, view
        return view if view["runtime_status"] == "COMPLETED" else None

    eventually(completed, timeout=10, what="the order's workflow COMPLETED")
    shown = shop.terminal(order["order_id"])["workflow"]
    assert shown["runtime_status"] == "COMPLETED", shown


def test_orders_and_its_sidecar_killed_mid_saga_every_order_still_ends(
    stack: Stack, shop: Shop, sku: str
) -> None:
    """kill -9 of orders and its daprd with sagas in flight; after a restart every order
    reaches a terminal status and nothing is lost or charged twice."""
    shop.faults("shipping", {"ScheduleShipment": {"delay_before_s": 2}})
    placed = [
        shop.place_ok([(sku, 1)], mode="orchestration", country="AQ" if i % 4 == 0 else "NL")
        for i in range(8)
    ]
    eventually(
        lambda: any(shop.order(p["order_id"])["status"] == "PAID" for p in placed) or None,
        what="a saga to wait on shipping",
    )
    in_flight = [p for p in placed if shop.order(p["order_id"])["status"] not in TERMINAL]
    assert in_flight, "no saga was in flight when orders was killed"
    stack.kill("orders")
    stack.kill("orders-daprd")
    shop.faults("shipping", {})
    stack.respawn("orders-daprd", "orders")
    orders = [shop.terminal(p["order_id"], timeout=120) for p in placed]
    outcomes = sorted((o["status"], o["reason"]) for o in orders)
    assert outcomes == [("CANCELLED", "shipping_failed")] * 2 + [("COMPLETED", None)] * 6
    shop.assert_conserved(orders, sku, 40)


def test_a_participant_down_for_a_while_is_retried_and_the_order_completes(
    stack: Stack, shop: Shop, sku: str
) -> None:
    stack.kill("shipping")
    try:
        oid = shop.place_ok([(sku, 2)], mode="orchestration")["order_id"]
        eventually(
            lambda: shop.order(oid)["status"] == "PAID" or None,
            what="the saga to reach the missing participant",
        )
    finally:
        stack.respawn("shipping")
    order = shop.terminal(oid, timeout=90)
    assert (order["status"], order["reason"]) == ("COMPLETED", None)
    shop.assert_conserved([order], sku, 40)


def test_a_charge_whose_reply_is_lost_is_charged_exactly_once(shop: Shop, sku: str) -> None:
    """payments charges, then stalls past the invocation time-out (the reply is lost); the
    retried call finds the charge already recorded and returns it."""
    before = shop.stats("payments").get("duplicates", 0)
    shop.faults("payments", {"ChargePayment": {"delay_after_s": 7, "times": 1}})
    order = shop.terminal(shop.place_ok([(sku, 1)], mode="orchestration")["order_id"], timeout=90)
    assert order["status"] == "COMPLETED"
    assert shop.stats("payments").get("duplicates", 0) > before
    payment = shop.payment(order["order_id"])
    assert payment is not None and len(payment["charges"]) == 1
    assert payment["charged"] == order["total"]


def test_an_operator_terminates_a_stuck_saga_and_everything_is_undone(shop: Shop, sku: str) -> None:
    shop.faults("shipping", {"ScheduleShipment": {"delay_before_s": 20, "times": 1}})
    oid = shop.place_ok([(sku, 3)], mode="orchestration")["order_id"]
    eventually(lambda: shop.order(oid)["status"] == "PAID" or None, what="payment")
    status, body, _ = http(
        "POST",
        f"{shop.orders}/orders/{oid}/workflow/terminate",
        {"reason": "stuck in test"},
        shop.auth("orders"),
    )
    assert status == 200, body
    assert (body["status"], body["reason"]) == ("CANCELLED", "terminated")
    assert shop.order(oid)["workflow"]["runtime_status"] == "PURGED"
    order = shop.order(oid)
    shop.assert_conserved([order], sku, 40)
    again, _, _ = http(
        "POST",
        f"{shop.orders}/orders/{oid}/workflow/terminate",
        {},
        shop.auth("orders"),
    )
    assert again == 409

"""The order saga on the real stack, in every mode, with identical expected outcomes:
business results, compensations, idempotent placement and contention, as a user of the
public APIs sees them; and, for choreography, redelivered events."""

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from daprshop.stack import Stack
from tests.shop import Shop
from tests.waiting import eventually

pytestmark = pytest.mark.e2e
SKU = "SKU-002"
MODES = ["choreography", "orchestration", "hybrid"]


@pytest.fixture(scope="module")
def shop(stack: Stack) -> Shop:
    return Shop.of(stack)


@pytest.fixture
def sku(shop: Shop, request: pytest.FixtureRequest) -> str:
    """A SKU with a known stock level of 100, reset for each test."""
    shop.set_stock({SKU: 100})
    return SKU


def events(order: dict[str, Any]) -> list[str]:
    return [t["event"] for t in order["timeline"]]


@pytest.mark.parametrize("mode", MODES)
def test_happy_path_completes_with_reserve_charge_schedule_in_order(
    shop: Shop, sku: str, mode: str
) -> None:
    placed = shop.place_ok([(sku, 3)], mode=mode)
    assert placed["status"] == "PENDING" and placed["total"] == 3 * 4900
    order = shop.terminal(placed["order_id"])
    assert (order["status"], order["reason"]) == ("COMPLETED", None)
    # in hybrid the workflow's verdict completes the order (the workflow alone decides)
    verdict = ["SagaCompleted"] if mode == "hybrid" else []
    assert events(order) == [
        "OrderPlaced",
        "StockReserved",
        "PaymentCharged",
        "ShipmentScheduled",
        *verdict,
    ]
    steps = [(t["step"], t["participant"]) for t in order["timeline"][1:4]]
    assert steps == [
        ("reserve_stock", "inventory"),
        ("charge_payment", "payments"),
        ("schedule_shipment", "shipping"),
    ]
    stock = shop.stock(sku)
    assert (stock["available"], stock["holds"]) == (97, {order["order_id"]: 3})
    payment = shop.payment(order["order_id"])
    assert payment is not None and payment["charges"] == [
        {"charge_id": f"ch_{order['order_id']}", "amount": order["total"]}
    ]
    shipment = shop.shipment(order["order_id"])
    assert shipment is not None and shipment["status"] == "scheduled"


@pytest.mark.parametrize("mode", MODES)
def test_out_of_stock_cancels_without_charge_or_shipment(shop: Shop, sku: str, mode: str) -> None:
    shop.set_stock({sku: 2})
    order = shop.terminal(shop.place_ok([(sku, 3)], mode=mode)["order_id"])
    assert (order["status"], order["reason"]) == ("CANCELLED", "out_of_stock")
    assert shop.payment(order["order_id"]) is None
    assert shop.shipment(order["order_id"]) is None
    assert shop.stock(sku)["available"] == 2


@pytest.mark.parametrize("mode", MODES)
def test_over_the_credit_limit_declines_and_gives_the_stock_back(
    shop: Shop, sku: str, mode: str
) -> None:
    """cust-low may spend 10.00; 49.00 is declined, and the held units are released."""
    order = shop.terminal(shop.place_ok([(sku, 1)], customer="cust-low", mode=mode)["order_id"])
    assert (order["status"], order["reason"]) == ("CANCELLED", "payment_declined")
    assert {"StockReserved", "PaymentDeclined", "StockReleased"} <= set(events(order))
    payment = shop.payment(order["order_id"])
    assert payment is not None and (payment["status"], payment["charges"]) == ("declined", [])
    assert (shop.stock(sku)["available"], shop.stock(sku)["holds"]) == (100, {})
    assert shop.shipment(order["order_id"]) is None


@pytest.mark.parametrize("mode", MODES)
def test_unshippable_destination_refunds_the_charge_and_restores_stock(
    shop: Shop, sku: str, mode: str
) -> None:
    order = shop.terminal(shop.place_ok([(sku, 2)], country="AQ", mode=mode)["order_id"])
    assert (order["status"], order["reason"]) == ("CANCELLED", "shipping_failed")
    assert {"ShipmentFailed", "PaymentRefunded", "StockReleased"} <= set(events(order))
    payment = shop.payment(order["order_id"])
    assert payment is not None
    assert payment["charged"] == payment["refunded"] == order["total"] == 2 * 4900
    assert len(payment["charges"]) == len(payment["refunds"]) == 1
    assert shop.stock(sku)["available"] == 100
    shipment = shop.shipment(order["order_id"])
    assert shipment is not None and shipment["status"] == "failed"


def test_every_event_published_twice_more_changes_nothing(shop: Shop, sku: str) -> None:
    """Choreography: redeliveries (same ids) are absorbed: no state changes, no second
    charge. (Orchestration's duplicates are re-invocations: see test_orchestration.)"""
    order = shop.terminal(shop.place_ok([(sku, 1)])["order_id"])
    oid = order["order_id"]
    before = (order, shop.stock(sku), shop.payment(oid), shop.shipment(oid), shop.reservation(oid))
    recorded = {**before[4]["inbox"], **before[2]["inbox"], **before[3]["inbox"]}
    placed = {
        "order_id": oid,
        "mode": "choreography",
        "causation_id": "",
        "occurred_at": order["created_at"],
        "attempt": 1,
        "message_id": f"{oid}:orders.OrderPlaced.v1",
        "correlation_id": oid,
        "order": {k: order[k] for k in ("customer_id", "items", "total", "address")},
    }
    duplicates = {
        a: shop.stats(a).get("duplicates", 0) for a in ("inventory", "payments", "shipping")
    }
    for _ in range(2):
        shop.publish("orders", "orders.OrderPlaced.v1", placed)
        for entry in recorded.values():
            shop.publish(entry["type"].split(".")[0], entry["type"], entry["data"])
    for app, seen in duplicates.items():
        eventually(
            lambda app=app, seen=seen: shop.stats(app).get("duplicates", 0) >= seen + 2 or None,
            what=f"{app} to receive the duplicates",
        )
    after = (
        shop.order(oid),
        shop.stock(sku),
        shop.payment(oid),
        shop.shipment(oid),
        shop.reservation(oid),
    )
    assert after == before
    assert len(after[2]["charges"]) == 1


@pytest.mark.parametrize("mode", MODES)
def test_the_same_idempotency_key_twice_makes_one_order(shop: Shop, sku: str, mode: str) -> None:
    first_status, first, _ = shop.place([(sku, 4)], key=f"retry-me-{mode}", mode=mode)
    second_status, second, headers = shop.place([(sku, 4)], key=f"retry-me-{mode}", mode=mode)
    assert (first_status, second_status) == (202, 202)
    assert second["order_id"] == first["order_id"]
    assert headers.get("idempotent-replayed") == "true"
    shop.terminal(first["order_id"])
    assert shop.stock(sku)["holds"] == {first["order_id"]: 4}
    assert shop.stock(sku)["available"] == 96
    reused_status, reused, _ = shop.place([(sku, 5)], key=f"retry-me-{mode}", mode=mode)
    assert reused_status == 422 and "Idempotency-Key" in reused["detail"]


@pytest.mark.parametrize("mode", MODES)
def test_fifty_concurrent_orders_for_ten_units_never_oversell(
    shop: Shop, sku: str, mode: str
) -> None:
    shop.set_stock({sku: 10})
    with ThreadPoolExecutor(max_workers=25) as pool:
        placed = list(pool.map(lambda _: shop.place_ok([(sku, 1)], mode=mode), range(50)))
        orders = list(pool.map(lambda o: shop.terminal(o["order_id"], timeout=120), placed))
    outcomes = sorted((o["status"], o["reason"]) for o in orders)
    assert outcomes.count(("COMPLETED", None)) == 10
    assert outcomes.count(("CANCELLED", "out_of_stock")) == 40
    stock = shop.stock(sku)
    completed = {o["order_id"] for o in orders if o["status"] == "COMPLETED"}
    assert (stock["available"], set(stock["holds"]), sum(stock["holds"].values())) == (
        0,
        completed,
        10,
    )
    assert all((s := shop.shipment(oid)) and s["status"] == "scheduled" for oid in completed)

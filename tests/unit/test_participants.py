"""Every step and compensation of the three participants, through their real handlers on an
in-memory store: happy path, duplicate, compensation, compensation before forward."""

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

import pytest

from daprshop_contracts.commands import (
    CancelShipment,
    ChargePayment,
    RefundPayment,
    ReleaseStock,
    ReserveStock,
    ScheduleShipment,
)
from daprshop_contracts.events import Address, Line, OrderContext
from daprshop_contracts.service import Ctx
from inventory import domain as inventory_domain
from inventory import handlers as inventory
from payments import domain as payments_domain
from payments import handlers as payments
from shipping import domain as shipping_domain
from shipping import handlers as shipping
from tests.unit.fakes import FakePublisher, FakeStore, fake_ctx

T = TypeVar("T")
ADDRESS = Address(name="Ada", line1="1 Way", city="Utrecht", postal_code="3511", country="NL")


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


def context(
    total: int = 2_000,
    country: str = "NL",
    customer: str = "cust-001",
    items: tuple[tuple[str, int], ...] = (("SKU-001", 2), ("SKU-002", 1)),
) -> OrderContext:
    return OrderContext(
        customer_id=customer,
        total=total,
        items=tuple(Line(sku=s, quantity=q, unit_price=100) for s, q in items),
        address=ADDRESS.model_copy(update={"country": country}),
    )


def store(c: Ctx) -> FakeStore:
    assert isinstance(c.store, FakeStore)
    return c.store


def published(c: Ctx) -> list[str]:
    assert isinstance(c.publisher, FakePublisher)
    return c.publisher.types()


# -- inventory ----------------------------------------------------------------------------
@pytest.fixture
def inv() -> Ctx:
    c = fake_ctx("inventory", catalogue=inventory_domain.load_catalogue())
    run(inventory.seed_stock(c, c.extra["catalogue"], levels={"SKU-001": 5, "SKU-002": 1}))
    return c


def stock(c: Ctx, sku: str) -> dict[str, Any]:
    return dict(store(c).data[inventory.stock_key(sku)][0])


def test_reserve_holds_every_line_and_publishes_stock_reserved(inv: Ctx) -> None:
    out = run(inventory.reserve_stock(ReserveStock(order_id="o1", order=context()), inv))
    assert out.event_type == "inventory.StockReserved.v1"
    assert (stock(inv, "SKU-001")["available"], stock(inv, "SKU-001")["holds"]) == (3, {"o1": 2})
    assert (stock(inv, "SKU-002")["available"], stock(inv, "SKU-002")["holds"]) == (0, {"o1": 1})


def test_a_duplicate_reserve_holds_nothing_more_and_republishes_the_same_event(inv: Ctx) -> None:
    cmd = ReserveStock(order_id="o1", order=context())
    first = run(inventory.reserve_stock(cmd, inv))
    writes = store(inv).writes
    again = run(inventory.reserve_stock(cmd, inv))
    assert again.duplicate and again.event == first.event
    assert store(inv).writes == writes
    assert stock(inv, "SKU-001")["available"] == 3
    assert published(inv) == ["StockReserved", "StockReserved"]


def test_a_short_line_rejects_all_lines_and_gives_back_what_was_held(inv: Ctx) -> None:
    cmd = ReserveStock(order_id="o1", order=context(items=(("SKU-001", 2), ("SKU-002", 2))))
    out = run(inventory.reserve_stock(cmd, inv))
    assert out.event_type == "inventory.StockRejected.v1"
    assert out.event is not None and out.event["short_skus"] == ["SKU-002"]
    assert (stock(inv, "SKU-001")["available"], stock(inv, "SKU-001")["holds"]) == (5, {})


def test_release_gives_the_units_back_once(inv: Ctx) -> None:
    run(inventory.reserve_stock(ReserveStock(order_id="o1", order=context()), inv))
    out = run(inventory.release_stock(ReleaseStock(order_id="o1"), inv))
    assert out.event is not None and out.event["units"] == 3
    again = run(inventory.release_stock(ReleaseStock(order_id="o1"), inv))
    assert again.duplicate
    assert (stock(inv, "SKU-001")["available"], stock(inv, "SKU-002")["available"]) == (5, 1)


def test_release_before_reserve_leaves_a_tombstone_and_the_late_reserve_is_refused(
    inv: Ctx,
) -> None:
    out = run(inventory.release_stock(ReleaseStock(order_id="o1"), inv))
    assert out.event is not None and out.event["units"] == 0
    late = run(inventory.reserve_stock(ReserveStock(order_id="o1", order=context()), inv))
    assert late.refused and late.event is None
    assert (stock(inv, "SKU-001")["available"], stock(inv, "SKU-001")["holds"]) == (5, {})
    assert published(inv) == ["StockReleased"]


# -- payments -----------------------------------------------------------------------------
@pytest.fixture
def pay() -> Ctx:
    return fake_ctx("payments", customers=payments_domain.load_customers())


def payment(c: Ctx, order_id: str) -> dict[str, Any]:
    return dict(store(c).data[payments.record_key(order_id)][0])


def test_charge_within_the_limit_charges_the_total(pay: Ctx) -> None:
    out = run(payments.charge_payment(ChargePayment(order_id="o1", order=context()), pay))
    assert out.event_type == "payments.PaymentCharged.v1"
    assert payment(pay, "o1")["charges"] == [{"charge_id": "ch_o1", "amount": 2_000}]


def test_a_duplicate_charge_does_not_charge_twice(pay: Ctx) -> None:
    cmd = ChargePayment(order_id="o1", order=context())
    run(payments.charge_payment(cmd, pay))
    assert run(payments.charge_payment(cmd, pay)).duplicate
    assert len(payment(pay, "o1")["charges"]) == 1


def test_a_charge_above_the_credit_limit_is_declined(pay: Ctx) -> None:
    cmd = ChargePayment(order_id="o1", order=context(total=10_01, customer="cust-low"))
    out = run(payments.charge_payment(cmd, pay))
    assert out.event_type == "payments.PaymentDeclined.v1"
    assert out.event is not None and "exceeds credit limit 1000" in out.event["detail"]
    assert payment(pay, "o1")["charges"] == []


def test_refund_returns_exactly_what_was_charged_once(pay: Ctx) -> None:
    run(payments.charge_payment(ChargePayment(order_id="o1", order=context()), pay))
    out = run(payments.refund_payment(RefundPayment(order_id="o1"), pay))
    assert out.event is not None and out.event["amount"] == 2_000
    assert run(payments.refund_payment(RefundPayment(order_id="o1"), pay)).duplicate
    rec = payment(pay, "o1")
    assert (rec["charged"], rec["refunded"], len(rec["refunds"])) == (2_000, 2_000, 1)


def test_refund_before_charge_leaves_a_tombstone_and_the_late_charge_is_refused(pay: Ctx) -> None:
    out = run(payments.refund_payment(RefundPayment(order_id="o1"), pay))
    assert out.event is not None and out.event["amount"] == 0
    late = run(payments.charge_payment(ChargePayment(order_id="o1", order=context()), pay))
    assert late.refused and payment(pay, "o1")["charges"] == []


# -- shipping -----------------------------------------------------------------------------
@pytest.fixture
def ship() -> Ctx:
    return fake_ctx("shipping", destinations=shipping_domain.load_destinations())


def test_a_shippable_destination_is_scheduled_once(ship: Ctx) -> None:
    cmd = ScheduleShipment(order_id="o1", order=context())
    out = run(shipping.schedule_shipment(cmd, ship))
    assert out.event is not None and out.event["shipment_id"] == "shp_o1"
    assert run(shipping.schedule_shipment(cmd, ship)).duplicate
    assert published(ship) == ["ShipmentScheduled", "ShipmentScheduled"]


@pytest.mark.parametrize("country", ["AQ", "ZZ"])
def test_an_unshippable_or_unknown_destination_fails(ship: Ctx, country: str) -> None:
    cmd = ScheduleShipment(order_id="o1", order=context(country=country))
    out = run(shipping.schedule_shipment(cmd, ship))
    assert out.event_type == "shipping.ShipmentFailed.v1"


def test_cancel_undoes_a_scheduled_shipment(ship: Ctx) -> None:
    run(shipping.schedule_shipment(ScheduleShipment(order_id="o1", order=context()), ship))
    out = run(shipping.cancel_shipment(CancelShipment(order_id="o1"), ship))
    assert out.event_type == "shipping.ShipmentCancelled.v1"
    assert store(ship).data[shipping.record_key("o1")][0]["status"] == "cancelled"


def test_cancel_before_schedule_leaves_a_tombstone_and_refuses_the_late_schedule(
    ship: Ctx,
) -> None:
    run(shipping.cancel_shipment(CancelShipment(order_id="o1"), ship))
    late = run(shipping.schedule_shipment(ScheduleShipment(order_id="o1", order=context()), ship))
    assert late.refused
    assert store(ship).data[shipping.record_key("o1")][0]["shipment_id"] is None


def test_orders_are_priced_by_the_catalogue_never_by_the_client() -> None:
    catalogue = inventory_domain.load_catalogue()
    assert len(catalogue) >= 20
    lines, total, unknown = inventory_domain.quote(catalogue, [("SKU-001", 2), ("NOPE", 1)])
    assert unknown == ["NOPE"]
    assert lines == [Line(sku="SKU-001", quantity=2, unit_price=catalogue["SKU-001"].price)]
    assert total == 2 * catalogue["SKU-001"].price

"""Orders' pure domain: request validation and the timeline a saga's events build."""

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from daprshop_contracts.events import (
    Address,
    Event,
    Line,
    PaymentCharged,
    PaymentRefunded,
    SagaCompleted,
    SagaStopped,
    ShipmentCancelled,
    ShipmentScheduled,
    StockReleased,
    StockReserved,
)
from daprshop_contracts.saga import ORDER_SAGA
from orders import domain
from orders.schemas import OrderCreate

NOW = datetime(2026, 11, 24, tzinfo=UTC)
REQUEST = {
    "customer_id": "cust-001",
    "items": [{"sku": "SKU-001", "quantity": 2}],
    "address": {
        "name": "Ada",
        "line1": "1 Way",
        "city": "Utrecht",
        "postal_code": "3511",
        "country": "NL",
    },
}


def order() -> domain.Order:
    req = OrderCreate.model_validate(REQUEST)
    draft = domain.Order(
        order_id="o1",
        seq=1,
        mode=req.mode,
        customer_id=req.customer_id,
        items=[Line(sku="SKU-001", quantity=2, unit_price=500)],
        total=1000,
        address=Address(**req.address.model_dump()),
        created_at=NOW.isoformat(),
        updated_at=NOW.isoformat(),
        fingerprint=req.fingerprint(),
    )
    record, _ = domain.new_order(draft, ORDER_SAGA)
    return record


def test_a_new_order_is_pending_with_its_placement_on_the_timeline() -> None:
    record = order()
    assert (record.status, record.total, record.mode) == ("PENDING", 1000, "choreography")
    assert [t.event for t in record.timeline] == ["OrderPlaced"]


def test_an_event_moves_the_status_and_a_duplicate_is_ignored() -> None:
    placed = domain.placed_event(order())
    reserved = StockReserved(order_id="o1", order=placed.order)
    record = domain.apply_event(order(), reserved, NOW, ORDER_SAGA)
    assert record is not None and record.status == "STOCK_RESERVED"
    assert domain.apply_event(record, reserved, NOW, ORDER_SAGA) is None


def test_terminal_time_is_stamped_once() -> None:
    placed = domain.placed_event(order())
    record = order()
    for event in (
        StockReserved(order_id="o1", order=placed.order),
        PaymentCharged(order_id="o1", order=placed.order, amount=1000),
    ):
        record = domain.apply_event(record, event, NOW, ORDER_SAGA) or record
    assert record.terminal_at is None


def test_placed_event_is_rebuilt_identically_from_the_record() -> None:
    assert domain.placed_event(order()) == domain.placed_event(order())


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"items": [{"sku": "SKU-001", "quantity": 11}]}, "quantity"),
        ({"items": [{"sku": "sku lower", "quantity": 1}]}, "sku"),
        ({"items": [{"sku": "SKU-001", "quantity": 1}] * 2}, "items"),
        ({"customer_id": "Bad Customer"}, "customer_id"),
        ({"mode": "saga"}, "mode"),
    ],
)
def test_invalid_requests_name_the_field(patch: dict, field: str) -> None:
    with pytest.raises(ValidationError) as err:
        OrderCreate.model_validate({**REQUEST, **patch})
    assert field in str(err.value)


def test_the_fingerprint_tells_a_retry_from_a_different_order() -> None:
    a = OrderCreate.model_validate(REQUEST)
    b = OrderCreate.model_validate({**REQUEST, "items": [{"sku": "SKU-001", "quantity": 3}]})
    assert a.fingerprint() == OrderCreate.model_validate(REQUEST).fingerprint()
    assert a.fingerprint() != b.fingerprint()


def hybrid_order_charged() -> domain.Order:
    """A hybrid order whose workflow reserved and charged: it now waits for shipping."""
    record = order().model_copy(update={"mode": "hybrid"})
    context = domain.placed_event(record).order
    for event in (
        StockReserved(order_id="o1", mode="hybrid", order=context),
        PaymentCharged(order_id="o1", mode="hybrid", order=context, amount=1000),
    ):
        record = domain.apply_event(record, event, NOW, ORDER_SAGA) or record
    return record


def apply_all(record: domain.Order, *events: Event) -> domain.Order:
    for event in events:
        record = domain.apply_event(record, event, NOW, ORDER_SAGA) or record
    return record


def test_hybrid_shipment_then_the_workflow_verdict_completes_the_order() -> None:
    """Interleaving 1: the outcome reaches the workflow before its timer; COMPLETED comes
    with the workflow's verdict, not with the shipment alone."""
    shipped = ShipmentScheduled(order_id="o1", mode="hybrid", shipment_id="s1")
    record = apply_all(hybrid_order_charged(), shipped)
    assert (record.status, record.terminal_at) == ("PAID", None)
    record = apply_all(record, SagaCompleted(order_id="o1", mode="hybrid"))
    assert (record.status, record.reason) == ("COMPLETED", None)


def test_hybrid_shipment_recorded_as_the_time_out_fires_is_compensated_never_completed() -> None:
    """Interleaving 2 (the race): orders records ShipmentScheduled, then the timer wins in
    the workflow, which stops the saga and undoes every step. No reader ever sees COMPLETED,
    and the order ends CANCELLED(timed_out)."""
    seen = []
    record = hybrid_order_charged()
    for event in (
        ShipmentScheduled(order_id="o1", mode="hybrid", shipment_id="s1"),
        SagaStopped(order_id="o1", mode="hybrid", reason="timed_out"),
        ShipmentCancelled(order_id="o1", mode="hybrid"),
        PaymentRefunded(order_id="o1", mode="hybrid", amount=1000),
        StockReleased(order_id="o1", mode="hybrid", units=2),
    ):
        record = apply_all(record, event)
        seen.append(record.status.value)
    assert "COMPLETED" not in seen
    assert (record.status, record.reason) == ("CANCELLED", "timed_out")


def test_choreography_completes_on_the_last_step_alone() -> None:
    """Without a workflow nobody else decides: the last success completes the order."""
    context = domain.placed_event(order()).order
    record = apply_all(
        order(),
        StockReserved(order_id="o1", order=context),
        PaymentCharged(order_id="o1", order=context, amount=1000),
        ShipmentScheduled(order_id="o1", shipment_id="s1"),
    )
    assert record.status == "COMPLETED"

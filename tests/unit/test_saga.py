"""The saga definition: routes each participant reads, and status derived from the set of
events seen, whatever order they arrive in."""

import itertools

import pytest

from daprshop_contracts.saga import (
    SAGA,
    Status,
    choreography_routes,
    compensations_for,
    derive_status,
)


def names(events: str) -> set[str]:
    producer = {
        "OrderPlaced": "orders",
        "StockReserved": "inventory",
        "StockRejected": "inventory",
        "StockReleased": "inventory",
        "PaymentCharged": "payments",
        "PaymentDeclined": "payments",
        "PaymentRefunded": "payments",
        "ShipmentScheduled": "shipping",
        "ShipmentFailed": "shipping",
        "ShipmentCancelled": "shipping",
    }
    return {f"{producer[e]}.{e}.v1" for e in events.split()}


def test_each_participant_listens_to_its_trigger_and_to_later_failures() -> None:
    routes = {
        p: {t.split(".")[1]: (s.name, a) for t, (s, a) in choreography_routes(p).items()}
        for p in ("inventory", "payments", "shipping")
    }
    assert routes["inventory"] == {
        "OrderPlaced": ("reserve_stock", "forward"),
        "PaymentDeclined": ("reserve_stock", "compensate"),
        "ShipmentFailed": ("reserve_stock", "compensate"),
    }
    assert routes["payments"] == {
        "StockReserved": ("charge_payment", "forward"),
        "ShipmentFailed": ("charge_payment", "compensate"),
    }
    assert routes["shipping"] == {"PaymentCharged": ("schedule_shipment", "forward")}


def test_compensations_run_in_reverse_order_of_the_steps_that_succeeded() -> None:
    assert [s.compensation for s in compensations_for(2)] == ["RefundPayment", "ReleaseStock"]
    assert [s.compensation for s in compensations_for(1)] == ["ReleaseStock"]
    assert compensations_for(0) == ()


@pytest.mark.parametrize(
    ("events", "expected"),
    [
        ("OrderPlaced", (Status.PENDING, None)),
        ("OrderPlaced StockReserved", (Status.STOCK_RESERVED, None)),
        ("OrderPlaced StockReserved PaymentCharged", (Status.PAID, None)),
        ("OrderPlaced StockReserved PaymentCharged ShipmentScheduled", (Status.COMPLETED, None)),
        ("OrderPlaced StockRejected", (Status.CANCELLED, "out_of_stock")),
        ("OrderPlaced StockReserved PaymentDeclined", (Status.STOCK_RESERVED, None)),
        (
            "OrderPlaced StockReserved PaymentDeclined StockReleased",
            (Status.CANCELLED, "payment_declined"),
        ),
        (
            "OrderPlaced StockReserved PaymentCharged ShipmentFailed PaymentRefunded",
            (Status.PAID, None),
        ),
        (
            "OrderPlaced StockReserved PaymentCharged ShipmentFailed PaymentRefunded StockReleased",
            (Status.CANCELLED, "shipping_failed"),
        ),
    ],
)
def test_cancelled_only_once_every_compensation_ran(events: str, expected: tuple) -> None:
    assert derive_status(names(events)) == expected


def test_arrival_order_does_not_change_the_outcome() -> None:
    events = [
        "StockReserved",
        "PaymentCharged",
        "ShipmentFailed",
        "PaymentRefunded",
        "StockReleased",
    ]
    results = {derive_status(names(" ".join(p))) for p in itertools.permutations(events)}
    assert results == {(Status.CANCELLED, "shipping_failed")}


def test_a_timed_out_step_cancels_after_its_compensations() -> None:
    seen = names("OrderPlaced StockReserved PaymentCharged PaymentRefunded StockReleased")
    assert derive_status(seen, stopped="timed_out") == (Status.CANCELLED, "timed_out")
    assert len(SAGA) == 3


def test_a_step_that_succeeds_after_a_time_out_is_compensated_too() -> None:
    """Hybrid: shipping schedules after the workflow gave up; the order is CANCELLED only
    once that shipment is cancelled as well, and never COMPLETED."""
    late = names(
        "OrderPlaced StockReserved PaymentCharged ShipmentScheduled PaymentRefunded StockReleased"
    )
    assert derive_status(late, stopped="timed_out") == (Status.PAID, None)
    assert derive_status(late | names("ShipmentCancelled"), stopped="timed_out") == (
        Status.CANCELLED,
        "timed_out",
    )

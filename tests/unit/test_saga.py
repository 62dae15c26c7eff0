"""The saga definition: routes each participant reads, and status derived from the set of
events seen, whatever order they arrive in."""

import itertools

import pytest

from daprshop_contracts.events import Mode
from daprshop_contracts.saga import ORDER_SAGA, Status
from tests.unit.four_step import FOUR_STEP

SAGA = ORDER_SAGA.steps
derive_status = ORDER_SAGA.derive_status
compensations_for = ORDER_SAGA.compensations_for


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
        p: {t.split(".")[1]: (s.name, a) for t, (s, a) in ORDER_SAGA.routes(p).items()}
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
    assert [s.compensation.__name__ for s in compensations_for(2)] == [
        "RefundPayment",
        "ReleaseStock",
    ]
    assert [s.compensation.__name__ for s in compensations_for(1)] == ["ReleaseStock"]
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


def test_participants_do_not_know_the_mode_the_saga_decides_per_mode() -> None:
    """Choreography runs every step from events; orchestration none; hybrid the steps
    after the hand-off. Outcomes are published from the hand-off step on."""
    by_events = {m: [ORDER_SAGA.coordination(m).by_events(i) for i in range(3)] for m in Mode}
    publishes = {m: [ORDER_SAGA.coordination(m).publishes(i) for i in range(3)] for m in Mode}
    assert by_events[Mode.CHOREOGRAPHY] == [True, True, True]
    assert by_events[Mode.ORCHESTRATION] == [False, False, False]
    assert by_events[Mode.HYBRID] == [False, False, True]
    assert publishes[Mode.ORCHESTRATION] == [False, False, False]
    assert publishes[Mode.HYBRID] == [False, True, True]
    assert [ORDER_SAGA.coordination(m).compensates_by_events() for m in Mode] == [
        True,
        False,
        False,
    ]


# -- a test-only saga of four steps, hybrid with a two-step tail ---------------------------
def four(events: str) -> set[str]:
    loyalty = {"PointsAwarded", "PointsDenied", "PointsRevoked"}
    named = set(events.split())
    return names(" ".join(named - loyalty)) | {f"loyalty.{e}.v1" for e in named & loyalty}


def test_four_steps_route_each_participant_its_trigger_and_later_failures() -> None:
    def routes(p: str) -> dict[str, tuple[str, str]]:
        return {t.split(".")[1]: (s.name, a) for t, (s, a) in FOUR_STEP.routes(p).items()}

    assert routes("loyalty") == {
        "PaymentCharged": ("award_points", "forward"),
        "ShipmentFailed": ("award_points", "compensate"),
    }
    assert routes("shipping") == {"PointsAwarded": ("schedule_shipment", "forward")}
    assert routes("inventory")["PointsDenied"] == ("reserve_stock", "compensate")
    assert [FOUR_STEP.coordination(Mode.HYBRID).by_events(i) for i in range(4)] == [
        False,
        False,
        True,
        True,
    ]
    assert [FOUR_STEP.coordination(Mode.HYBRID).hands_back(i) for i in range(4)] == [
        False,
        False,
        True,
        True,
    ]


@pytest.mark.parametrize(
    ("events", "expected"),
    [
        ("OrderPlaced StockReserved PaymentCharged", (Status.PAID, None)),
        ("OrderPlaced StockReserved PaymentCharged PointsAwarded", (Status.PAID, None)),
        (
            "OrderPlaced StockReserved PaymentCharged PointsAwarded ShipmentScheduled",
            (Status.COMPLETED, None),
        ),
        (
            "OrderPlaced StockReserved PaymentCharged PointsDenied PaymentRefunded",
            (Status.PAID, None),
        ),
        (
            "OrderPlaced StockReserved PaymentCharged PointsDenied PaymentRefunded StockReleased",
            (Status.CANCELLED, "points_denied"),
        ),
        (
            "OrderPlaced StockReserved PaymentCharged PointsAwarded ShipmentFailed "
            "PointsRevoked PaymentRefunded StockReleased",
            (Status.CANCELLED, "shipping_failed"),
        ),
    ],
)
def test_four_steps_derive_status_from_the_events_seen(events: str, expected: tuple) -> None:
    assert FOUR_STEP.derive_status(four(events)) == expected


def test_four_steps_stopped_with_every_step_done_is_cancelled_only_once_all_are_undone() -> None:
    done = four("OrderPlaced StockReserved PaymentCharged PointsAwarded ShipmentScheduled")
    assert FOUR_STEP.derive_status(done, stopped="timed_out") == (Status.PAID, None)
    undone = done | four("ShipmentCancelled PointsRevoked PaymentRefunded StockReleased")
    assert FOUR_STEP.derive_status(undone, stopped="timed_out") == (Status.CANCELLED, "timed_out")


def test_a_step_started_by_an_event_that_does_not_carry_the_order_is_refused() -> None:
    reserve, charge, ship = ORDER_SAGA.steps
    with pytest.raises(ValueError, match="must carry order"):
        type(ORDER_SAGA)(steps=(reserve, ship, charge), hybrid_handoff=1)

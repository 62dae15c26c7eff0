"""The order saga as data: its steps, their participants, outcomes and compensations.

The workflow, the choreography routes and the order status tracker all read this one
definition; adding a step means adding one `Step` here (and its participant's handlers).
"""

from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

from daprshop_contracts.commands import COMMANDS
from daprshop_contracts.events import (
    Event,
    Message,
    Mode,
    OrderPlaced,
    PaymentCharged,
    PaymentDeclined,
    PaymentRefunded,
    ShipmentCancelled,
    ShipmentFailed,
    ShipmentScheduled,
    StockRejected,
    StockReleased,
    StockReserved,
)


class Status(StrEnum):
    PENDING = "PENDING"
    STOCK_RESERVED = "STOCK_RESERVED"
    PAID = "PAID"
    COMPLETED = "COMPLETED"
    CANCELLED = "CANCELLED"


TERMINAL = frozenset({Status.COMPLETED, Status.CANCELLED})
Action = Literal["forward", "compensate"]


@dataclass(frozen=True)
class Step:
    name: str
    participant: str
    command: str  # imperative, e.g. ReserveStock
    succeeded: type[Event]
    failed: type[Event]
    compensation: str  # the opposite verb, e.g. ReleaseStock
    compensated: type[Event]
    reason: str  # the order's cancellation reason when this step fails
    status: Status  # the order's status once this step succeeded


SAGA: tuple[Step, ...] = (
    Step(
        "reserve_stock",
        "inventory",
        "ReserveStock",
        StockReserved,
        StockRejected,
        "ReleaseStock",
        StockReleased,
        "out_of_stock",
        Status.STOCK_RESERVED,
    ),
    Step(
        "charge_payment",
        "payments",
        "ChargePayment",
        PaymentCharged,
        PaymentDeclined,
        "RefundPayment",
        PaymentRefunded,
        "payment_declined",
        Status.PAID,
    ),
    Step(
        "schedule_shipment",
        "shipping",
        "ScheduleShipment",
        ShipmentScheduled,
        ShipmentFailed,
        "CancelShipment",
        ShipmentCancelled,
        "shipping_failed",
        Status.COMPLETED,
    ),
)
STEP_BY_NAME = {step.name: step for step in SAGA}
PARTICIPANTS: tuple[str, ...] = tuple(dict.fromkeys(step.participant for step in SAGA))
STEP_BY_EVENT: dict[str, tuple[Step, str]] = {
    cls.TYPE: (step, kind)
    for step in SAGA
    for kind, cls in (
        ("succeeded", step.succeeded),
        ("failed", step.failed),
        ("compensated", step.compensated),
    )
}


# In hybrid mode the workflow runs steps [0, HYBRID_HANDOFF) by invocation; the steps from
# HYBRID_HANDOFF on react to events, as in choreography.
HYBRID_HANDOFF = 2


def index_of(step: Step) -> int:
    return SAGA.index(step)


def by_events(step: Step, mode: Mode) -> bool:
    """Whether `step` (and its compensation) is started by an event in this mode."""
    return mode is Mode.CHOREOGRAPHY or (mode is Mode.HYBRID and index_of(step) >= HYBRID_HANDOFF)


def publishes(step: Step, mode: Mode) -> bool:
    """Whether a participant publishes `step`'s outcomes in this mode: always in
    choreography, never in orchestration (the reply carries them), and in hybrid from the
    event that hands over to choreography on."""
    if mode is Mode.HYBRID:
        return index_of(step) >= HYBRID_HANDOFF - 1
    return mode is Mode.CHOREOGRAPHY


def forward_trigger(index: int) -> type[Event]:
    """The event that starts step `index` in choreography: the previous step's success."""
    return OrderPlaced if index == 0 else SAGA[index - 1].succeeded


def choreography_routes(participant: str) -> dict[str, tuple[Step, Action]]:
    """Event type -> (step, action) for one participant: its forward trigger, and the
    failures of every later step, each of which undoes this participant's step."""
    routes: dict[str, tuple[Step, Action]] = {}
    for i, step in enumerate(SAGA):
        if step.participant != participant:
            continue
        routes[forward_trigger(i).TYPE] = (step, "forward")
        for later in SAGA[i + 1 :]:
            routes[later.failed.TYPE] = (step, "compensate")
    return routes


def compensations_for(failed_index: int) -> tuple[Step, ...]:
    """The steps to undo, in reverse order, when step `failed_index` fails."""
    return tuple(reversed(SAGA[:failed_index]))


def derive_status(seen: set[str], stopped: str | None = None) -> tuple[Status, str | None]:
    """An order's status and reason from the set of event types seen, in any arrival order.
    CANCELLED only once every compensation that applies has run. `stopped`: the reason the
    saga was stopped early (time-out, operator): then every step that succeeded, even late,
    must be compensated before the order is CANCELLED with that reason."""
    status, reason = _progress(seen)
    if stopped is None or status is Status.CANCELLED:
        return status, reason
    pending = [s for s in SAGA if s.succeeded.TYPE in seen and s.compensated.TYPE not in seen]
    if not pending:
        return Status.CANCELLED, stopped
    return (SAGA[-2].status if status is Status.COMPLETED else status), None


def _progress(seen: set[str]) -> tuple[Status, str | None]:
    for i, step in enumerate(SAGA):
        before = SAGA[i - 1].status if i else Status.PENDING
        if step.failed.TYPE in seen:
            pending = [s for s in SAGA[:i] if s.compensated.TYPE not in seen]
            return (Status.CANCELLED, step.reason) if not pending else (before, None)
        if step.succeeded.TYPE not in seen:
            return before, None
    return Status.COMPLETED, None


def to_command(step: Step, action: Action, event: Event) -> Message:
    """The command a participant runs for `event` in choreography: the same payload the
    orchestrator sends by service invocation."""
    cls = COMMANDS[step.command if action == "forward" else step.compensation]
    fields: dict[str, object] = {
        "order_id": event.order_id,
        "mode": event.mode,
        "causation_id": event.message_id,
    }
    if action == "forward":
        fields["order"] = getattr(event, "order")  # noqa: B009 - every forward trigger has it
    return cls.model_validate(fields)

"""The order saga as data: its steps, their participants, outcomes and compensations, and how
each mode coordinates them.

The workflow, the choreography routes, the participants' publication policy and the order
status tracker all read this one definition (`ORDER_SAGA`). Adding a step means adding one
`Step` here (and its participant's handlers); a saga of any length works in every mode.
"""

from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal

from daprshop_contracts.commands import (
    CancelShipment,
    ChargePayment,
    Command,
    RefundPayment,
    ReleaseStock,
    ReserveStock,
    ScheduleShipment,
    StepCommand,
)
from daprshop_contracts.events import (
    Event,
    Mode,
    OrderContext,
    OrderEvent,
    OrderPlaced,
    PaymentCharged,
    PaymentDeclined,
    PaymentRefunded,
    SagaCompleted,
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
OutcomeKind = Literal["succeeded", "failed", "compensated"]


@dataclass(frozen=True)
class Step:
    name: str
    participant: str
    command: type[StepCommand]  # imperative, e.g. ReserveStock
    succeeded: type[Event]
    failed: type[Event]
    compensation: type[Command]  # the opposite verb, e.g. ReleaseStock
    compensated: type[Event]
    reason: str  # the order's cancellation reason when this step fails
    status: Status  # the order's status once this step succeeded

    def command_class(self, action: Action) -> type[Command]:
        return self.command if action == "forward" else self.compensation


@dataclass(frozen=True)
class Coordination:
    """How one mode runs the saga. Steps before `first_by_events` are invoked by the
    workflow; the rest start from the previous step's success event (choreography).
    Participants publish the outcomes someone reacts to: from the step that hands over on."""

    mode: Mode
    first_by_events: int
    steps: int

    @property
    def has_workflow(self) -> bool:
        return self.first_by_events > 0

    def by_events(self, index: int) -> bool:
        """Whether step `index` starts from an event in this mode."""
        return index >= self.first_by_events

    def compensates_by_events(self) -> bool:
        """Compensations travel as events only without a workflow; with one, it alone
        decides and compensates by invocation."""
        return not self.has_workflow

    def publishes(self, index: int) -> bool:
        """Whether step `index`'s participant publishes its outcomes (the reply carries them
        to the workflow otherwise)."""
        return self.first_by_events < self.steps and index >= self.first_by_events - 1

    def hands_back(self, index: int) -> bool:
        """Whether orders raises step `index`'s outcome to the waiting workflow."""
        return self.has_workflow and self.by_events(index)

    @property
    def workflow_decides(self) -> bool:
        """Whether a workflow waits, with a time-out, for steps run by events (hybrid). It
        alone then decides the outcome: the order is COMPLETED only when the workflow
        records SagaCompleted, so no reader sees COMPLETED for an order whose time-out
        fired and which will be compensated."""
        return self.has_workflow and self.first_by_events < self.steps


@dataclass(frozen=True)
class Saga:
    steps: tuple[Step, ...]
    # Hybrid: the workflow invokes steps [0, hybrid_handoff); the rest react to events.
    hybrid_handoff: int
    _by_event: dict[str, tuple[Step, OutcomeKind]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not 0 < self.hybrid_handoff < len(self.steps):
            raise ValueError("hybrid_handoff must leave at least one step on each side")
        for i in range(1, len(self.steps)):
            if not issubclass(self.trigger(i), OrderEvent):
                raise ValueError(f"{self.trigger(i).__name__} starts a step: it must carry order")
        table = {
            cls.TYPE: (step, kind)
            for step in self.steps
            for kind, cls in (
                ("succeeded", step.succeeded),
                ("failed", step.failed),
                ("compensated", step.compensated),
            )
        }
        object.__setattr__(self, "_by_event", table)

    # -- reading the definition ------------------------------------------------------------
    @property
    def participants(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(step.participant for step in self.steps))

    def index(self, step: Step) -> int:
        return self.steps.index(step)

    def step_named(self, name: str) -> Step:
        return next(s for s in self.steps if s.name == name)

    def by_event(self, event_type: str) -> tuple[Step, OutcomeKind] | None:
        """The step an outcome event belongs to, and which outcome it is."""
        return self._by_event.get(event_type)

    def by_command(self, command: type[Command]) -> tuple[Step, Action]:
        for step in self.steps:
            if command is step.command:
                return step, "forward"
            if command is step.compensation:
                return step, "compensate"
        raise KeyError(f"{command.__name__} is no command of this saga")

    def commands_of(self, participant: str) -> Iterator[type[Command]]:
        for step in self.steps:
            if step.participant == participant:
                yield step.command
                yield step.compensation

    def coordination(self, mode: Mode) -> Coordination:
        first = {Mode.CHOREOGRAPHY: 0, Mode.ORCHESTRATION: len(self.steps)}.get(
            mode, self.hybrid_handoff
        )
        return Coordination(mode, first, len(self.steps))

    # -- choreography ----------------------------------------------------------------------
    def trigger(self, index: int) -> type[Event]:
        """The event that starts step `index` by choreography: the previous step's success."""
        return OrderPlaced if index == 0 else self.steps[index - 1].succeeded

    def routes(self, participant: str) -> dict[str, tuple[Step, Action]]:
        """Event type -> (step, action) for one participant: its forward trigger, and the
        failures of every later step, each of which undoes this participant's step."""
        routes: dict[str, tuple[Step, Action]] = {}
        for i, step in enumerate(self.steps):
            if step.participant != participant:
                continue
            routes[self.trigger(i).TYPE] = (step, "forward")
            for later in self.steps[i + 1 :]:
                routes[later.failed.TYPE] = (step, "compensate")
        return routes

    def compensations_for(self, failed_index: int) -> tuple[Step, ...]:
        """The steps to undo, in reverse order, when step `failed_index` fails."""
        return tuple(reversed(self.steps[:failed_index]))

    # -- status --------------------------------------------------------------------------
    def derive_status(
        self, seen: set[str], stopped: str | None = None, *, workflow_decides: bool = False
    ) -> tuple[Status, str | None]:
        """An order's status and reason from the set of event types seen, in any arrival
        order. CANCELLED only once every compensation that applies has run. `stopped`: the
        reason the saga was stopped early (time-out, operator): then every step that
        succeeded, even late, must be compensated before the order is CANCELLED with it.
        `workflow_decides` (hybrid): COMPLETED only once the workflow recorded
        SagaCompleted; until then the order stays at the status before the last step."""
        status, reason = self._progress(seen)
        if workflow_decides and status is Status.COMPLETED and SagaCompleted.TYPE not in seen:
            status = self._status_before(len(self.steps) - 1)
        if stopped is None or status is Status.CANCELLED:
            return status, reason
        pending = [
            s for s in self.steps if s.succeeded.TYPE in seen and s.compensated.TYPE not in seen
        ]
        if not pending:
            return Status.CANCELLED, stopped
        # a stopped saga whose steps all succeeded is not COMPLETED: it is being undone
        last = len(self.steps) - 1
        return (self._status_before(last) if status is Status.COMPLETED else status), None

    def _status_before(self, index: int) -> Status:
        return self.steps[index - 1].status if index else Status.PENDING

    def _progress(self, seen: set[str]) -> tuple[Status, str | None]:
        for i, step in enumerate(self.steps):
            if step.failed.TYPE in seen:
                pending = [s for s in self.steps[:i] if s.compensated.TYPE not in seen]
                if pending:
                    return self._status_before(i), None
                return Status.CANCELLED, step.reason
            if step.succeeded.TYPE not in seen:
                return self._status_before(i), None
        return Status.COMPLETED, None

    # -- commands ------------------------------------------------------------------------
    def command(
        self,
        step: Step,
        action: Action,
        *,
        order_id: str,
        mode: Mode,
        order: OrderContext | None,
        caused_by: str,
    ) -> Command:
        """The one way a step's command is built, by choreography (from the triggering
        event) and by the workflow alike. Compensations carry no order: the participant
        undoes what it recorded."""
        if action == "compensate":
            return step.compensation(order_id=order_id, mode=mode, causation_id=caused_by)
        if order is None:
            raise ValueError(f"{step.command.__name__} needs the order it acts on")
        return step.command(order_id=order_id, mode=mode, causation_id=caused_by, order=order)


ORDER_SAGA = Saga(
    steps=(
        Step(
            "reserve_stock",
            "inventory",
            ReserveStock,
            StockReserved,
            StockRejected,
            ReleaseStock,
            StockReleased,
            "out_of_stock",
            Status.STOCK_RESERVED,
        ),
        Step(
            "charge_payment",
            "payments",
            ChargePayment,
            PaymentCharged,
            PaymentDeclined,
            RefundPayment,
            PaymentRefunded,
            "payment_declined",
            Status.PAID,
        ),
        Step(
            "schedule_shipment",
            "shipping",
            ScheduleShipment,
            ShipmentScheduled,
            ShipmentFailed,
            CancelShipment,
            ShipmentCancelled,
            "shipping_failed",
            Status.COMPLETED,
        ),
    ),
    hybrid_handoff=2,
)
PARTICIPANTS: tuple[str, ...] = ORDER_SAGA.participants

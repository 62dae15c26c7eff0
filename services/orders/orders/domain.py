"""Orders' pure domain: the order record and how each saga event changes it. Status is
derived from the set of events seen, so arrival order and duplicates do not matter."""

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from daprshop_contracts.events import (
    Address,
    Event,
    Line,
    Mode,
    OrderContext,
    OrderPlaced,
    SagaCompleted,
    SagaStopped,
)
from daprshop_contracts.saga import TERMINAL, Saga, Status


class TimelineEntry(BaseModel):
    step: str = Field(examples=["reserve_stock"])
    participant: str = Field(examples=["inventory"])
    event: str = Field(examples=["StockReserved"])
    type: str = Field(examples=["inventory.StockReserved.v1"], description="CloudEvent type")
    kind: str = Field(description="placed | succeeded | failed | compensated | stopped | completed")
    time: str = Field(description="when the participant produced the event (ISO 8601)")
    recorded_at: str = Field(description="when orders recorded it")
    attempt: int = 1
    message_id: str
    detail: dict[str, Any] = {}


class Order(BaseModel):
    order_id: str
    seq: int
    mode: Mode
    customer_id: str
    items: list[Line]
    total: int  # integer cents, priced by inventory
    address: Address
    status: Status = Status.PENDING
    reason: str | None = None
    created_at: str
    updated_at: str
    terminal_at: str | None = None
    fingerprint: str  # of the request: a reused Idempotency-Key with another body is refused
    workflow_instance_id: str | None = None
    # W3C trace context of the order's trace (the client's, or one orders started): every
    # call made for the order carries it, so its spans link up in one trace
    traceparent: str | None = None
    timeline: list[TimelineEntry] = []

    @property
    def context(self) -> OrderContext:
        """The order as event-carried state for the participants."""
        return OrderContext(
            customer_id=self.customer_id,
            items=tuple(self.items),
            total=self.total,
            address=self.address,
        )


def new_order(order: Order, saga: Saga) -> tuple[Order, OrderPlaced]:
    """A PENDING order with OrderPlaced on its timeline, and that event."""
    placed = placed_event(order)
    return apply_event(
        order, placed, datetime.fromisoformat(order.created_at), saga
    ) or order, placed


def placed_event(order: Order) -> OrderPlaced:
    """The OrderPlaced event of an order, rebuilt from its record (same id every time)."""
    return OrderPlaced(
        order_id=order.order_id,
        mode=order.mode,
        order=order.context,
        occurred_at=datetime.fromisoformat(order.created_at),
    )


def apply_event(order: Order, event: Event, now: datetime, saga: Saga) -> Order | None:
    """The order after `event`, or None if this event was already recorded (a duplicate)."""
    if any(t.message_id == event.message_id for t in order.timeline):
        return None
    step, participant, kind = _where(event, saga)
    entry = TimelineEntry(
        step=step,
        participant=participant,
        event=event.TYPE.split(".")[1],
        type=event.TYPE,
        kind=kind,
        time=event.occurred_at.isoformat(),
        recorded_at=now.isoformat(),
        attempt=event.attempt,
        message_id=event.message_id,
        detail=_detail(event),
    )
    timeline = [*order.timeline, entry]
    reason_stopped = next((t.detail["reason"] for t in timeline if t.kind == "stopped"), None)
    status, reason = saga.derive_status(
        {t.type for t in timeline},
        reason_stopped,
        workflow_decides=saga.coordination(order.mode).workflow_decides,
    )
    if order.status in TERMINAL:
        status, reason = order.status, order.reason  # terminal is final
    changes: dict[str, Any] = {
        "timeline": timeline,
        "status": status,
        "reason": reason,
        "updated_at": now.isoformat(),
    }
    if status in TERMINAL and order.terminal_at is None:
        changes["terminal_at"] = now.isoformat()
    return order.model_copy(update=changes)


def _where(event: Event, saga: Saga) -> tuple[str, str, str]:
    """The timeline's step, participant and kind of an event."""
    found = saga.by_event(event.TYPE)
    if found is not None:
        return found[0].name, found[0].participant, found[1]
    if isinstance(event, SagaStopped):
        return "saga", "orders", "stopped"
    if isinstance(event, SagaCompleted):
        return "saga", "orders", "completed"
    return "place_order", "orders", "placed"


def _detail(event: Event) -> dict[str, Any]:
    data = event.model_dump(
        mode="json", exclude={"order_id", "mode", "causation_id", "occurred_at", "attempt", "order"}
    )
    return {k: v for k, v in data.items() if v not in ("", (), [], None)}


def public(order: Order, traces_url: str | None = None) -> dict[str, Any]:
    """What GET /orders/{id} shows: the record without bookkeeping, the timeline in the
    order things happened (participants stamp events; all share one clock here), the
    order's trace id, and where its trace is seen (a Zipkin UI at `traces_url`)."""
    out = order.model_dump(
        mode="json", exclude={"fingerprint", "workflow_instance_id", "traceparent"}
    )
    out["timeline"] = sorted(out["timeline"], key=lambda t: (t["time"], t["recorded_at"]))
    trace_id = order.traceparent.split("-")[1] if order.traceparent else None
    out["trace_id"] = trace_id
    out["trace_url"] = (
        f"{traces_url.rstrip('/')}/zipkin/traces/{trace_id}" if trace_id and traces_url else None
    )
    return out

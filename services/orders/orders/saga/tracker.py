"""The order status tracker: records each saga event on the order's timeline, once, and
derives the status. Choreography feeds it from pub/sub; the workflow feeds it directly."""

from datetime import UTC, datetime
from typing import Any

from daprshop_contracts.dapr import NO_WRITE, update
from daprshop_contracts.events import Event
from daprshop_contracts.service import Ctx
from orders import domain, store
from orders.saga.workflow import OUTCOME_EVENT


async def record(event: Event, c: Ctx) -> bool:
    """Apply `event` to its order; False if it was a duplicate or the order is unknown
    (an event can only precede its order if the order's creation failed)."""

    def apply(order: dict[str, Any] | None) -> tuple[Any, bool]:
        new = domain.apply_event(order, event, datetime.now(UTC)) if order else None
        return (new, True) if new is not None else (NO_WRITE, False)

    return await update(c.store, c.locks, store.order_key(event.order_id), apply)


async def hand_back(event: Event, c: Ctx) -> None:
    """Raise a choreographed step's outcome to the hybrid workflow waiting for it. A
    workflow that already ended (timed out) no longer waits: nothing to do."""
    try:
        await c.extra["workflows"].raise_workflow_event(
            event.order_id,
            OUTCOME_EVENT,
            data={"event_type": event.TYPE, "event": event.envelope_data()},
        )
    except Exception as err:  # the SDK raises grpc errors for an unknown or ended instance
        if "not found" not in str(err).lower() and "no such" not in str(err).lower():
            raise

"""The order status tracker: records each saga event on the order's timeline, once, and
derives the status. Choreography feeds it from pub/sub; the workflow feeds it directly."""

from datetime import UTC, datetime

from daprshop_contracts.dapr import ETagMismatch
from daprshop_contracts.events import Event
from daprshop_contracts.inbox import MAX_CONFLICTS
from daprshop_contracts.service import Ctx
from orders import domain, store
from orders.saga.workflow import OUTCOME_EVENT


async def record(event: Event, c: Ctx) -> bool:
    """Apply `event` to its order; False if it was a duplicate or the order is unknown."""
    key = store.order_key(event.order_id)
    async with c.locks.hold(key):
        for _ in range(MAX_CONFLICTS):
            order, etag = await c.store.get(key)
            if order is None:
                # An event can overtake the order's own creation only if the order was never
                # created (its transaction failed); nothing to record.
                return False
            new = domain.apply_event(order, event, datetime.now(UTC))
            if new is None:
                return False
            try:
                await c.store.save(key, new, etag)
            except ETagMismatch:
                continue
            return True
    raise RuntimeError(f"{key}: {MAX_CONFLICTS} ETag conflicts in a row")


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

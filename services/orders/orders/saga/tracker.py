"""The order status tracker: records each saga event on the order's timeline, once, and
derives the status. Choreography feeds it from pub/sub; the workflow feeds it directly."""

from datetime import UTC, datetime

from daprshop_contracts.dapr import ETagMismatch
from daprshop_contracts.events import Event
from daprshop_contracts.inbox import MAX_CONFLICTS
from daprshop_contracts.service import Ctx
from orders import domain, store


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

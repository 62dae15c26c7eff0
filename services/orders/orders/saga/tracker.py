"""The order status tracker: records each saga event on the order's timeline, once, and
derives the status; raises the outcomes of steps run by choreography to a waiting workflow.
Choreography feeds it from pub/sub; the workflow's activities feed it directly."""

from datetime import UTC, datetime

from daprshop_contracts.events import Event
from daprshop_platform.inbox import Outcome
from orders import domain, store
from orders.deps import OrdersDeps
from orders.saga.workflow import OUTCOME_EVENT


class NotRecorded(RuntimeError):
    """An event for an order orders does not know (yet). Raised, not swallowed, so the
    subscription does not acknowledge it: Dapr redelivers it, and after the resiliency
    retries sends it to the dead-letter topic, where `GET /dead-letters` shows it."""


async def record(event: Event, deps: OrdersDeps) -> bool:
    """Apply `event` to its order durably; False if it was already recorded (a duplicate).
    Raises NotRecorded if the order is unknown, and the store's error if the write fails."""

    def apply(order: domain.Order | None) -> tuple[domain.Order | None, bool | None]:
        if order is None:
            return None, None
        new = domain.apply_event(order, event, datetime.now(UTC), deps.saga)
        return new, new is not None

    recorded = await store.update_order(deps.platform, event.order_id, apply)
    if recorded is None:
        raise NotRecorded(f"{event.TYPE} {event.message_id}: no order {event.order_id!r}")
    return recorded


async def track(event: Event, deps: OrdersDeps) -> None:
    """Record a participant's event; if a workflow waits for it (a step after the hybrid
    hand-off), raise it to that workflow too. A `lose` fault for its name acknowledges it
    unrecorded: how the chaos tests reproduce a lost delivery."""
    fault = deps.platform.faults.take(type(event).__name__)
    if fault is not None and fault.lose:
        deps.platform.stats["events_lost_by_fault"] += 1
        return
    await record(event, deps)
    found = deps.saga.by_event(event.TYPE)
    if found is None or found[1] == "compensated":
        return
    if deps.saga.coordination(event.mode).hands_back(deps.saga.index(found[0])):
        outcome = Outcome(event_type=event.TYPE, event=event.envelope_data())
        # a workflow that already ended (timed out) no longer waits: nothing to do
        await deps.workflows.raise_event(event.order_id, OUTCOME_EVENT, outcome)

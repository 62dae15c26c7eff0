"""Operating orchestrated sagas: the workflow behind an order as Dapr reports it, and the
termination of a stuck one. A termination stops and purges the workflow, runs every
compensation (tombstones make undoing a step that never ran safe), and records the outcome
on the order: CANCELLED(terminated)."""

from dataclasses import asdict
from typing import Any

from daprshop_contracts.events import SagaStopped
from daprshop_contracts.saga import TERMINAL
from orders.deps import OrdersDeps
from orders.domain import Order
from orders.saga import tracker
from orders.saga.invocation import invoke_step
from orders.saga.models import StepCall

ENDED = ("COMPLETED", "FAILED", "TERMINATED")


class NotPossible(Exception):
    """The order cannot be operated this way (no workflow, already ended)."""


def instance_of(order: Order) -> str:
    return order.workflow_instance_id or order.order_id


async def workflow_view(order: Order, deps: OrdersDeps) -> dict[str, Any] | None:
    """The workflow behind an order now; None for a choreographed order."""
    if not deps.saga.coordination(order.mode).has_workflow:
        return None
    instance_id = instance_of(order)
    try:
        view = await deps.workflows.state(instance_id)
    except Exception as err:
        # Seen under load: Dapr reads the workflow's actor state while it is being saved
        # ("inbox key ... missing from state store"); the next read succeeds.
        return {"instance_id": instance_id, "runtime_status": "UNKNOWN", "error": str(err)}
    if view is None:
        return {"instance_id": instance_id, "runtime_status": "PURGED"}
    return asdict(view)


async def terminate(order: Order, reason: str, deps: OrdersDeps) -> None:
    if not deps.saga.coordination(order.mode).has_workflow:
        raise NotPossible(f"order {order.order_id} is choreographed: it has no workflow")
    if order.status in TERMINAL:
        raise NotPossible(f"order {order.order_id} already ended {order.status.value}")
    instance_id = instance_of(order)
    view = await deps.workflows.state(instance_id)
    if view is not None and view.runtime_status not in ENDED:
        await deps.workflows.terminate(instance_id, output={"terminated": reason})
        await deps.workflows.wait(instance_id, timeout_s=30)
    if view is not None:
        await deps.workflows.purge(instance_id)
    for step in deps.saga.compensations_for(len(deps.saga.steps)):
        call = StepCall(
            order_id=order.order_id,
            mode=order.mode,
            step=step.name,
            action="compensate",
            order=order.context,
        )
        await invoke_step(deps, call)
    stopped = SagaStopped(order_id=order.order_id, mode=order.mode, reason="terminated")
    await tracker.record(stopped, deps)

"""Operating orchestrated sagas: inspect an order's workflow, and terminate a stuck one. A
termination purges the workflow, runs every compensation (tombstones make undoing a step
that never ran safe), and records the outcome on the order: CANCELLED(terminated)."""

from typing import Annotated, Any

from fastapi import APIRouter, Body, HTTPException

from daprshop_contracts.events import Mode, SagaStopped
from daprshop_contracts.saga import SAGA, compensations_for
from daprshop_contracts.service import AdminDep, Ctx, CtxDep
from orders import domain, store
from orders.handlers import saga_input
from orders.saga import tracker
from orders.saga.activities import call_participant_activity
from orders.saga.workflow import call

router = APIRouter(tags=["operations"])
ENDED = ("COMPLETED", "FAILED", "TERMINATED")


async def workflow_view(order: dict[str, Any], c: Ctx) -> dict[str, Any] | None:
    """The workflow behind an orchestrated order, as Dapr reports it now."""
    if order["mode"] == Mode.CHOREOGRAPHY.value:
        return None
    instance_id = order.get("workflow_instance_id", order["order_id"])
    try:
        state = await c.extra["workflows"].get_workflow_state(instance_id, fetch_payloads=True)
    except Exception as err:
        # Seen under load: Dapr reads the workflow's actor state while it is being saved
        # ("inbox key ... missing from state store"); the next read succeeds.
        return {"instance_id": instance_id, "runtime_status": "UNKNOWN", "error": str(err)}
    if state is None:
        return {"instance_id": instance_id, "runtime_status": "PURGED"}
    failure = state.failure_details
    return {
        "instance_id": instance_id,
        "runtime_status": state.runtime_status.name,
        "created_at": state.created_at.isoformat() if state.created_at else None,
        "last_updated_at": (state.last_updated_at.isoformat() if state.last_updated_at else None),
        "output": state.serialized_output,
        "failure": failure.message if failure else None,
    }


async def _order(order_id: str, c: Ctx) -> dict[str, Any]:
    order, _ = await c.store.get(store.order_key(order_id))
    if order is None:
        raise HTTPException(404, f"no order {order_id!r}")
    return dict(order)


@router.get("/orders/{order_id}/workflow", summary="The Dapr Workflow behind an order")
async def inspect(order_id: str, c: CtxDep) -> dict[str, Any]:
    view = await workflow_view(await _order(order_id, c), c)
    if view is None:
        raise HTTPException(409, f"order {order_id} is choreographed: it has no workflow")
    return view


@router.post(
    "/orders/{order_id}/workflow/terminate",
    dependencies=[AdminDep],
    summary="Terminate and purge a stuck saga, compensate, and cancel the order",
)
async def terminate(
    order_id: str,
    c: CtxDep,
    reason: Annotated[str, Body(embed=True, max_length=200)] = "terminated by operator",
) -> dict[str, Any]:
    order = await _order(order_id, c)
    if order["mode"] == Mode.CHOREOGRAPHY.value:
        raise HTTPException(409, f"order {order_id} is choreographed: it has no workflow")
    if order["status"] in ("COMPLETED", "CANCELLED"):
        raise HTTPException(409, f"order {order_id} already ended {order['status']}")
    workflows = c.extra["workflows"]
    instance_id = order.get("workflow_instance_id", order_id)
    state = await workflows.get_workflow_state(instance_id)
    if state is not None and state.runtime_status.name not in ENDED:
        await workflows.terminate_workflow(instance_id, output={"terminated": reason})
        await workflows.wait_for_workflow_completion(instance_id, timeout_in_seconds=30)
    if state is not None:
        await workflows.purge_workflow(instance_id)
    run = call_participant_activity(c)
    for step in compensations_for(len(SAGA)):
        await run(None, call(step, "compensate", saga_input(order)))
    await tracker.record(
        SagaStopped(order_id=order_id, mode=Mode(order["mode"]), reason="terminated"), c
    )
    final = await _order(order_id, c)
    return {**domain.public(final), "terminated": reason}

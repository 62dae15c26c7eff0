"""Operator endpoints of orchestrated sagas (admin token): inspect an order's workflow,
terminate a stuck one. The actions themselves live beside the workflow (`saga.operator`)."""

from typing import Annotated, Any

from fastapi import APIRouter, Body, HTTPException

from daprshop_platform.service import ADMIN_RESPONSES, AdminDep
from orders.deps import DepsDep, load, shown
from orders.saga import operator

router = APIRouter(tags=["operations"])


@router.get(
    "/orders/{order_id}/workflow",
    dependencies=[AdminDep],
    summary="The Dapr Workflow behind an order",
    responses={
        **ADMIN_RESPONSES,
        404: {"description": "No such order"},
        409: {"description": "Choreographed"},
    },
)
async def inspect(order_id: str, deps: DepsDep) -> dict[str, Any]:
    view = await operator.workflow_view(await load(order_id, deps), deps)
    if view is None:
        raise HTTPException(409, f"order {order_id} is choreographed: it has no workflow")
    return view


@router.post(
    "/orders/{order_id}/workflow/terminate",
    dependencies=[AdminDep],
    summary="Terminate and purge a stuck saga, compensate, and cancel the order",
    responses={
        **ADMIN_RESPONSES,
        404: {"description": "No such order"},
        409: {"description": "Not possible: the order has ended or has no workflow"},
    },
)
async def terminate(
    order_id: str,
    deps: DepsDep,
    reason: Annotated[str, Body(embed=True, max_length=200)] = "terminated by operator",
) -> dict[str, Any]:
    try:
        await operator.terminate(await load(order_id, deps), reason, deps)
    except operator.NotPossible as err:
        raise HTTPException(409, str(err)) from err
    return {**shown(await load(order_id, deps), deps), "terminated": reason}

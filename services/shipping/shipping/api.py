"""Shipping's HTTP surface: the invocation endpoints the orchestrator calls, and read-only
views for auditing (the shipment of an order, destinations)."""

from typing import Any

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, Field

from daprshop_contracts.commands import CancelShipment, ScheduleShipment
from daprshop_contracts.participant import answer, execute
from daprshop_contracts.service import CtxDep
from shipping import handlers

router = APIRouter()


@router.post(
    "/commands/ScheduleShipment",
    tags=["commands"],
    summary="Schedule the order's shipment, unless the destination is unshippable",
)
async def schedule_shipment(cmd: ScheduleShipment, c: CtxDep) -> dict[str, Any]:
    return answer(await execute(handlers.schedule_shipment, "ScheduleShipment", cmd, c))


@router.post(
    "/commands/CancelShipment",
    tags=["commands"],
    summary="Cancel the order's shipment (compensation)",
)
async def cancel_shipment(cmd: CancelShipment, c: CtxDep) -> dict[str, Any]:
    return answer(await execute(handlers.cancel_shipment, "CancelShipment", cmd, c))


@router.get("/shipments/{order_id}", tags=["audit"], summary="The shipment of one order")
async def get_shipment(order_id: str, c: CtxDep) -> dict[str, Any]:
    record, _ = await c.store.get(handlers.record_key(order_id))
    if record is None:
        raise HTTPException(404, f"no shipment for order {order_id!r}")
    return dict(record)


@router.get("/destinations", tags=["audit"], summary="Countries and whether they are shippable")
async def destinations(c: CtxDep) -> list[dict[str, Any]]:
    return [d.model_dump() for d in c.extra["destinations"].values()]


class Lookup(BaseModel):
    order_ids: list[str] = Field(max_length=1000)


@router.post(
    "/shipments/lookup",
    tags=["audit"],
    summary="Many orders' records at once (read-only; for `daprshop verify`)",
)
async def lookup(req: Lookup, c: CtxDep) -> dict[str, Any]:
    found = await c.store.get_many([handlers.record_key(oid) for oid in req.order_ids])
    return {r["order_id"]: {k: v for k, v in r.items() if k != "inbox"} for r in found.values()}

"""Shipping's HTTP surface: the invocation endpoints the orchestrator calls, and read-only
views for auditing (the shipment of an order, destinations)."""

from typing import Any

from fastapi import APIRouter

from daprshop_contracts.commands import CancelShipment, ScheduleShipment
from daprshop_contracts.participant import answer, audit_routes, execute
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


@router.get("/destinations", tags=["audit"], summary="Countries and whether they are shippable")
async def destinations(c: CtxDep) -> list[dict[str, Any]]:
    return [d.model_dump() for d in c.extra["destinations"].values()]


audit_routes(router, "shipments", handlers.record_key, "shipment")

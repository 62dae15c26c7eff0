"""Shipping's own HTTP surface: read-only views for auditing (the shipment of an order,
destinations). (Commands are mounted by the platform.)"""

from typing import Any

from fastapi import APIRouter

from daprshop_platform.audit import audit_routes
from shipping import handlers
from shipping.deps import DepsDep

router = APIRouter()


@router.get("/destinations", tags=["audit"], summary="Countries and whether they are shippable")
async def destinations(deps: DepsDep) -> list[dict[str, Any]]:
    return [d.model_dump() for d in deps.destinations.values()]


audit_routes(router, "shipments", handlers.record_key, "shipment")

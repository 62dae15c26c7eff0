"""Payments' own HTTP surface: read-only views for auditing (charges and refunds per order,
customers). (Commands are mounted by the platform.)"""

from typing import Any

from fastapi import APIRouter

from daprshop_platform.audit import audit_routes
from payments import handlers
from payments.deps import DepsDep

router = APIRouter()


@router.get("/customers", tags=["audit"], summary="Customers and their credit limits")
async def customers(deps: DepsDep) -> list[dict[str, Any]]:
    return [cu.model_dump() for cu in deps.customers.values()]


audit_routes(router, "payments", handlers.record_key, "payment")

"""Payments' HTTP surface: the invocation endpoints the orchestrator calls, and read-only
views for auditing (charges and refunds per order, customers)."""

from typing import Any

from fastapi import APIRouter

from daprshop_contracts.commands import ChargePayment, RefundPayment
from daprshop_contracts.participant import answer, audit_routes, execute
from daprshop_contracts.service import CtxDep
from payments import handlers

router = APIRouter()


@router.post(
    "/commands/ChargePayment",
    tags=["commands"],
    summary="Charge the order total, unless above the customer's credit limit",
)
async def charge_payment(cmd: ChargePayment, c: CtxDep) -> dict[str, Any]:
    return answer(await execute(handlers.charge_payment, "ChargePayment", cmd, c))


@router.post(
    "/commands/RefundPayment",
    tags=["commands"],
    summary="Refund what was charged for the order (compensation)",
)
async def refund_payment(cmd: RefundPayment, c: CtxDep) -> dict[str, Any]:
    return answer(await execute(handlers.refund_payment, "RefundPayment", cmd, c))


@router.get("/customers", tags=["audit"], summary="Customers and their credit limits")
async def customers(c: CtxDep) -> list[dict[str, Any]]:
    return [cu.model_dump() for cu in c.extra["customers"].values()]


audit_routes(router, "payments", handlers.record_key, "payment")

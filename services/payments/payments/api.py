"""Payments' HTTP surface: the invocation endpoints the orchestrator calls, and read-only
views for auditing (charges and refunds per order, customers)."""

from typing import Any

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, Field

from daprshop_contracts.commands import ChargePayment, RefundPayment
from daprshop_contracts.participant import answer, execute
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


@router.get("/payments/{order_id}", tags=["audit"], summary="Charge and refund of one order")
async def get_payment(order_id: str, c: CtxDep) -> dict[str, Any]:
    record, _ = await c.store.get(handlers.record_key(order_id))
    if record is None:
        raise HTTPException(404, f"no payment for order {order_id!r}")
    return {k: v for k, v in record.items() if k != "inbox"} | {"inbox": record["inbox"]}


@router.get("/customers", tags=["audit"], summary="Customers and their credit limits")
async def customers(c: CtxDep) -> list[dict[str, Any]]:
    return [cu.model_dump() for cu in c.extra["customers"].values()]


class Lookup(BaseModel):
    order_ids: list[str] = Field(max_length=1000)


@router.post(
    "/payments/lookup",
    tags=["audit"],
    summary="Many orders' records at once (read-only; for `daprshop verify`)",
)
async def lookup(req: Lookup, c: CtxDep) -> dict[str, Any]:
    found = await c.store.get_many([handlers.record_key(oid) for oid in req.order_ids])
    return {r["order_id"]: {k: v for k, v in r.items() if k != "inbox"} for r in found.values()}

"""Payments' pure rules: a charge above the customer's credit limit is declined; a refund
returns what was charged, once; a refund before any charge leaves a tombstone."""

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from daprshop_contracts.commands import ChargePayment, RefundPayment
from daprshop_contracts.events import PaymentCharged, PaymentDeclined, PaymentRefunded
from daprshop_contracts.inbox import Decision

SEED = Path(__file__).with_name("seed.json")


class Customer(BaseModel):
    model_config = ConfigDict(frozen=True)
    customer_id: str
    name: str
    credit_limit: int  # cents; a single charge above it is declined


def load_customers(path: Path = SEED) -> dict[str, Customer]:
    rows = json.loads(path.read_text())["customers"]
    return {c.customer_id: c for c in map(Customer.model_validate, rows)}


def empty_record(order_id: str, customer_id: str = "") -> dict[str, Any]:
    return {
        "order_id": order_id,
        "customer_id": customer_id,
        "status": "none",
        "charged": 0,
        "refunded": 0,
        "charges": [],
        "refunds": [],
    }


def charge(
    record: dict[str, Any] | None, cmd: ChargePayment, customer: Customer | None
) -> Decision:
    rec = record or empty_record(cmd.order_id, cmd.order.customer_id)
    if rec["status"] == "refunded":
        return Decision(
            rec,
            refused=f"order {cmd.order_id} was already refunded; "
            "a charge after its compensation is refused",
        )
    base: dict[str, Any] = {
        "order_id": cmd.order_id,
        "mode": cmd.mode,
        "causation_id": cmd.causation_id,
    }
    total = cmd.order.total
    if customer is None:
        return Decision(
            {**rec, "status": "declined"},
            PaymentDeclined(**base, detail=f"unknown customer {cmd.order.customer_id}"),
        )
    if total > customer.credit_limit:
        detail = (
            f"total {total} exceeds credit limit {customer.credit_limit} of {customer.customer_id}"
        )
        return Decision({**rec, "status": "declined"}, PaymentDeclined(**base, detail=detail))
    charge_ = {"charge_id": f"ch_{cmd.order_id}", "amount": total}
    return Decision(
        {**rec, "status": "charged", "charged": total, "charges": [*rec["charges"], charge_]},
        PaymentCharged(**base, order=cmd.order, amount=total),
    )


def refund(record: dict[str, Any] | None, cmd: RefundPayment) -> Decision:
    rec = record or empty_record(cmd.order_id)
    amount = rec["charged"] - rec["refunded"]
    base: dict[str, Any] = {
        "order_id": cmd.order_id,
        "mode": cmd.mode,
        "causation_id": cmd.causation_id,
    }
    new = {**rec, "refunded": rec["refunded"] + amount}
    if amount:
        new["refunds"] = [*rec["refunds"], {"refund_id": f"rf_{cmd.order_id}", "amount": amount}]
    if rec["status"] in ("none", "charged"):  # "none": compensated before forward: tombstone
        new["status"] = "refunded"
    return Decision(new, PaymentRefunded(**base, amount=amount))

"""Payments' pure rules: a charge above the customer's credit limit is declined; a refund
returns what was charged, once; a refund before any charge leaves a tombstone."""

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from daprshop_contracts.commands import ChargePayment, RefundPayment
from daprshop_contracts.events import PaymentCharged, PaymentDeclined, PaymentRefunded
from daprshop_platform.decision import Decision, InboxRecord


class Customer(BaseModel):
    model_config = ConfigDict(frozen=True)
    customer_id: str
    name: str
    credit_limit: int  # cents; a single charge above it is declined


class Charge(BaseModel):
    charge_id: str
    amount: int


class Refund(BaseModel):
    refund_id: str
    amount: int


class Payment(InboxRecord):
    """One order's money: what was charged and refunded ("none": nothing yet)."""

    order_id: str
    customer_id: str = ""
    status: Literal["none", "charged", "declined", "refunded"] = "none"
    charged: int = 0
    refunded: int = 0
    charges: list[Charge] = Field(default_factory=list)
    refunds: list[Refund] = Field(default_factory=list)


def charge(
    record: Payment | None, cmd: ChargePayment, customer: Customer | None
) -> Decision[Payment]:
    rec = record or Payment(order_id=cmd.order_id, customer_id=cmd.order.customer_id)
    if rec.status == "refunded":
        return Decision(
            rec,
            refused=f"order {cmd.order_id} was already refunded; "
            "a charge after its compensation is refused",
        )
    total = cmd.order.total
    if customer is None:
        detail = f"unknown customer {cmd.order.customer_id}"
        return Decision(
            _with(rec, status="declined"), PaymentDeclined.answering(cmd, detail=detail)
        )
    if total > customer.credit_limit:
        detail = (
            f"total {total} exceeds credit limit {customer.credit_limit} of {customer.customer_id}"
        )
        return Decision(
            _with(rec, status="declined"), PaymentDeclined.answering(cmd, detail=detail)
        )
    charged = Charge(charge_id=f"ch_{cmd.order_id}", amount=total)
    return Decision(
        _with(rec, status="charged", charged=total, charges=[*rec.charges, charged]),
        PaymentCharged.answering(cmd, order=cmd.order, amount=total),
    )


def refund(record: Payment | None, cmd: RefundPayment) -> Decision[Payment]:
    rec = record or Payment(order_id=cmd.order_id)
    amount = rec.charged - rec.refunded
    refunds = rec.refunds
    if amount:
        refunds = [*refunds, Refund(refund_id=f"rf_{cmd.order_id}", amount=amount)]
    # "none": compensated before the forward step ran: a tombstone refuses a late charge
    status = "refunded" if rec.status in ("none", "charged") else rec.status
    new = _with(rec, refunded=rec.refunded + amount, refunds=refunds, status=status)
    return Decision(new, PaymentRefunded.answering(cmd, amount=amount))


def _with(record: Payment, **changes: object) -> Payment:
    return record.model_copy(update=changes)

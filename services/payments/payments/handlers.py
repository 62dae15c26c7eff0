"""Payments' step handlers: command -> pure rule -> one idempotent write -> event."""

from typing import Any

from daprshop_contracts.commands import ChargePayment, RefundPayment
from daprshop_contracts.events import Message
from daprshop_contracts.inbox import Decision, Outcome, inbox_key, run_once
from daprshop_contracts.saga import STEP_BY_NAME, publishes
from daprshop_contracts.service import Ctx
from payments import domain

STEP = "charge_payment"


def record_key(order_id: str) -> str:
    return f"payment:{order_id}"


async def charge_payment(cmd: Message, c: Ctx) -> Outcome:
    assert isinstance(cmd, ChargePayment)
    customers: dict[str, domain.Customer] = c.extra["customers"]
    customer = customers.get(cmd.order.customer_id)

    def decide(record: dict[str, Any] | None) -> Decision:
        return domain.charge(record, cmd, customer)

    return await run_once(
        c,
        record_key(cmd.order_id),
        inbox_key(cmd.order_id, STEP, "forward"),
        decide,
        publish=publishes(STEP_BY_NAME[STEP], cmd.mode),
    )


async def refund_payment(cmd: Message, c: Ctx) -> Outcome:
    assert isinstance(cmd, RefundPayment)
    return await run_once(
        c,
        record_key(cmd.order_id),
        inbox_key(cmd.order_id, STEP, "compensate"),
        lambda record: domain.refund(record, cmd),
        publish=publishes(STEP_BY_NAME[STEP], cmd.mode),
    )


HANDLERS = {"ChargePayment": charge_payment, "RefundPayment": refund_payment}

"""Payments' step handlers: command -> pure rule -> one idempotent write -> outcome."""

from daprshop_contracts.commands import ChargePayment, RefundPayment
from daprshop_platform.inbox import Outcome, run_once
from daprshop_platform.participant import StepHandler, handles
from payments import domain
from payments.deps import PaymentsDeps


def record_key(order_id: str) -> str:
    return f"payment:{order_id}"


async def charge_payment(cmd: ChargePayment, deps: PaymentsDeps) -> Outcome:
    customer = deps.customers.get(cmd.order.customer_id)
    return await run_once(
        deps.platform,
        record_key(cmd.order_id),
        cmd,
        domain.Payment,
        lambda record: domain.charge(record, cmd, customer),
    )


async def refund_payment(cmd: RefundPayment, deps: PaymentsDeps) -> Outcome:
    return await run_once(
        deps.platform,
        record_key(cmd.order_id),
        cmd,
        domain.Payment,
        lambda record: domain.refund(record, cmd),
    )


STEPS: list[StepHandler[PaymentsDeps]] = [
    handles(
        ChargePayment,
        charge_payment,
        "Charge the order total, unless above the customer's credit limit",
    ),
    handles(RefundPayment, refund_payment, "Refund what was charged for the order (compensation)"),
]

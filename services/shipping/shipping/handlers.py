"""Shipping's step handlers: command -> pure rule -> one idempotent write -> event."""

from typing import Any

from daprshop_contracts.commands import CancelShipment, ScheduleShipment
from daprshop_contracts.events import Message
from daprshop_contracts.inbox import Decision, Outcome, inbox_key, run_once
from daprshop_contracts.saga import STEP_BY_NAME, publishes
from daprshop_contracts.service import Ctx
from shipping import domain

STEP = "schedule_shipment"


def record_key(order_id: str) -> str:
    return f"shipment:{order_id}"


async def schedule_shipment(cmd: Message, c: Ctx) -> Outcome:
    assert isinstance(cmd, ScheduleShipment)
    destination = c.extra["destinations"].get(cmd.order.address.country)

    def decide(record: dict[str, Any] | None) -> Decision:
        return domain.schedule(record, cmd, destination)

    return await run_once(
        c,
        record_key(cmd.order_id),
        inbox_key(cmd.order_id, STEP, "forward"),
        decide,
        publish=publishes(STEP_BY_NAME[STEP], cmd.mode),
    )


async def cancel_shipment(cmd: Message, c: Ctx) -> Outcome:
    assert isinstance(cmd, CancelShipment)
    return await run_once(
        c,
        record_key(cmd.order_id),
        inbox_key(cmd.order_id, STEP, "compensate"),
        lambda record: domain.cancel(record, cmd),
        publish=publishes(STEP_BY_NAME[STEP], cmd.mode),
    )


HANDLERS = {"ScheduleShipment": schedule_shipment, "CancelShipment": cancel_shipment}

"""Shipping's step handlers: command -> pure rule -> one idempotent write -> outcome."""

from daprshop_contracts.commands import CancelShipment, ScheduleShipment
from daprshop_platform.inbox import Outcome, run_once
from daprshop_platform.participant import StepHandler, handles
from shipping import domain
from shipping.deps import ShippingDeps


def record_key(order_id: str) -> str:
    return f"shipment:{order_id}"


async def schedule_shipment(cmd: ScheduleShipment, deps: ShippingDeps) -> Outcome:
    destination = deps.destinations.get(cmd.order.address.country)
    return await run_once(
        deps.platform,
        record_key(cmd.order_id),
        cmd,
        domain.Shipment,
        lambda record: domain.schedule(record, cmd, destination),
    )


async def cancel_shipment(cmd: CancelShipment, deps: ShippingDeps) -> Outcome:
    return await run_once(
        deps.platform,
        record_key(cmd.order_id),
        cmd,
        domain.Shipment,
        lambda record: domain.cancel(record, cmd),
    )


STEPS: list[StepHandler[ShippingDeps]] = [
    handles(
        ScheduleShipment,
        schedule_shipment,
        "Schedule the order's shipment, unless the destination is unshippable",
    ),
    handles(CancelShipment, cancel_shipment, "Cancel the order's shipment (compensation)"),
]

"""Shipping's pure rules: a shipment is scheduled only to a shippable destination; a
cancellation undoes it once; a cancellation before any shipment leaves a tombstone."""

from typing import Literal

from pydantic import BaseModel, ConfigDict

from daprshop_contracts.commands import CancelShipment, ScheduleShipment
from daprshop_contracts.events import ShipmentCancelled, ShipmentFailed, ShipmentScheduled
from daprshop_platform.decision import Decision, InboxRecord


class Destination(BaseModel):
    model_config = ConfigDict(frozen=True)
    country: str
    shippable: bool
    why: str = ""


class Shipment(InboxRecord):
    """One order's shipment ("none": nothing yet)."""

    order_id: str
    status: Literal["none", "scheduled", "failed", "cancelled"] = "none"
    shipment_id: str | None = None
    country: str | None = None


def schedule(
    record: Shipment | None, cmd: ScheduleShipment, destination: Destination | None
) -> Decision[Shipment]:
    rec = record or Shipment(order_id=cmd.order_id)
    if rec.status == "cancelled":
        return Decision(
            rec,
            refused=f"order {cmd.order_id}'s shipment was already cancelled; "
            "scheduling after its compensation is refused",
        )
    country = cmd.order.address.country
    if destination is None or not destination.shippable:
        why = destination.why if destination else f"no route to {country}"
        failed = rec.model_copy(update={"status": "failed", "country": country})
        return Decision(failed, ShipmentFailed.answering(cmd, detail=why))
    shipment_id = f"shp_{cmd.order_id}"
    scheduled = rec.model_copy(
        update={"status": "scheduled", "shipment_id": shipment_id, "country": country}
    )
    return Decision(scheduled, ShipmentScheduled.answering(cmd, shipment_id=shipment_id))


def cancel(record: Shipment | None, cmd: CancelShipment) -> Decision[Shipment]:
    rec = record or Shipment(order_id=cmd.order_id)
    status = "failed" if rec.status == "failed" else "cancelled"
    return Decision(rec.model_copy(update={"status": status}), ShipmentCancelled.answering(cmd))

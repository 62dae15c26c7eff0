"""Shipping's pure rules: a shipment is scheduled only to a shippable destination; a
cancellation undoes it once; a cancellation before any shipment leaves a tombstone."""

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from daprshop_contracts.commands import CancelShipment, ScheduleShipment
from daprshop_contracts.events import ShipmentCancelled, ShipmentFailed, ShipmentScheduled
from daprshop_contracts.inbox import Decision

SEED = Path(__file__).with_name("seed.json")


class Destination(BaseModel):
    model_config = ConfigDict(frozen=True)
    country: str
    shippable: bool
    why: str = ""


def load_destinations(path: Path = SEED) -> dict[str, Destination]:
    rows = json.loads(path.read_text())["destinations"]
    return {d.country: d for d in map(Destination.model_validate, rows)}


def empty_record(order_id: str) -> dict[str, Any]:
    return {"order_id": order_id, "status": "none", "shipment_id": None, "country": None}


def schedule(
    record: dict[str, Any] | None, cmd: ScheduleShipment, destination: Destination | None
) -> Decision:
    rec = record or empty_record(cmd.order_id)
    if rec["status"] == "cancelled":
        return Decision(
            rec,
            refused=f"order {cmd.order_id}'s shipment was already cancelled; "
            "scheduling after its compensation is refused",
        )
    base: dict[str, Any] = {
        "order_id": cmd.order_id,
        "mode": cmd.mode,
        "causation_id": cmd.causation_id,
    }
    country = cmd.order.address.country
    if destination is None or not destination.shippable:
        why = destination.why if destination else f"no route to {country}"
        return Decision(
            {**rec, "status": "failed", "country": country}, ShipmentFailed(**base, detail=why)
        )
    shipment_id = f"shp_{cmd.order_id}"
    return Decision(
        {**rec, "status": "scheduled", "shipment_id": shipment_id, "country": country},
        ShipmentScheduled(**base, shipment_id=shipment_id),
    )


def cancel(record: dict[str, Any] | None, cmd: CancelShipment) -> Decision:
    rec = record or empty_record(cmd.order_id)
    base: dict[str, Any] = {
        "order_id": cmd.order_id,
        "mode": cmd.mode,
        "causation_id": cmd.causation_id,
    }
    new = {**rec, "status": "failed" if rec["status"] == "failed" else "cancelled"}
    return Decision(new, ShipmentCancelled(**base))

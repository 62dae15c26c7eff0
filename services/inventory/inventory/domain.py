"""Inventory's pure rules: the catalogue prices orders; stock per SKU is held for an order
all-or-nothing and released once; stock is conserved: initial = available + held.

Each SKU's document carries its holds per order, so a hold or a release and its
deduplication are one atomic single-key write.
"""

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from daprshop_contracts.commands import ReleaseStock, ReserveStock
from daprshop_contracts.events import Line, StockRejected, StockReleased, StockReserved
from daprshop_contracts.inbox import Decision

SEED = Path(__file__).with_name("seed.json")
Doc = dict[str, Any]


class CatalogueItem(BaseModel):
    model_config = ConfigDict(frozen=True)
    sku: str
    name: str
    price: int  # cents
    stock: int  # initial units


def load_catalogue(path: Path = SEED) -> dict[str, CatalogueItem]:
    rows = json.loads(path.read_text())["items"]
    return {i.sku: i for i in map(CatalogueItem.model_validate, rows)}


def quote(
    catalogue: dict[str, CatalogueItem], lines: list[tuple[str, int]]
) -> tuple[list[Line], int, list[str]]:
    """Price `lines` from the catalogue: priced lines, total in cents, unknown SKUs."""
    unknown = [sku for sku, _ in lines if sku not in catalogue]
    priced = [
        Line(sku=sku, quantity=q, unit_price=catalogue[sku].price)
        for sku, q in lines
        if sku in catalogue
    ]
    return priced, sum(line.quantity * line.unit_price for line in priced), unknown


def new_stock(sku: str, units: int, reset_at: str) -> Doc:
    """A SKU's stock from a (re)set: `initial` is the baseline stock is conserved against."""
    return {"sku": sku, "initial": units, "available": units, "holds": {}, "reset_at": reset_at}


def hold(doc: Doc, order_id: str, quantity: int) -> tuple[Doc, bool]:
    """Hold `quantity` units for the order; a second hold for the same order is a no-op."""
    if order_id in doc["holds"]:
        return doc, True
    if doc["available"] < quantity:
        return doc, False
    return {
        **doc,
        "available": doc["available"] - quantity,
        "holds": {**doc["holds"], order_id: quantity},
    }, True


def unhold(doc: Doc, order_id: str) -> tuple[Doc, int]:
    """Give the order's held units back; releasing twice gives back nothing the second time."""
    if order_id not in doc["holds"]:
        return doc, 0
    holds = dict(doc["holds"])
    units = holds.pop(order_id)
    return {**doc, "available": doc["available"] + units, "holds": holds}, units


def _base(cmd: ReserveStock | ReleaseStock) -> dict[str, Any]:
    return {"order_id": cmd.order_id, "mode": cmd.mode, "causation_id": cmd.causation_id}


def reserved(cmd: ReserveStock) -> Decision:
    lines = [line.model_dump() for line in cmd.order.items]
    return Decision(
        {"order_id": cmd.order_id, "status": "reserved", "lines": lines},
        StockReserved(**_base(cmd), order=cmd.order),
    )


def rejected(cmd: ReserveStock, short: list[str]) -> Decision:
    lines = [line.model_dump() for line in cmd.order.items]
    return Decision(
        {"order_id": cmd.order_id, "status": "rejected", "lines": lines},
        StockRejected(**_base(cmd), short_skus=tuple(short)),
    )


def refuse_reserve(record: Doc, cmd: ReserveStock) -> Decision:
    return Decision(
        record,
        refused=f"order {cmd.order_id}'s stock was already released; "
        "a reservation after its compensation is refused",
    )


def released(record: Doc | None, cmd: ReleaseStock, units: int) -> Decision:
    """Mark the order released (a tombstone if nothing was reserved yet)."""
    rec = record or {"order_id": cmd.order_id, "lines": []}
    return Decision({**rec, "status": "released"}, StockReleased(**_base(cmd), units=units))

"""Inventory's pure rules: the catalogue prices orders; stock per SKU is held for an order
all-or-nothing and released once; stock is conserved: initial = available + held.

Each SKU's document carries its holds per order, so a hold or a release and its
deduplication are one atomic single-key write.
"""

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from daprshop_contracts.commands import ReleaseStock, ReserveStock
from daprshop_contracts.events import Line, StockRejected, StockReleased, StockReserved
from daprshop_platform.decision import Decision, InboxRecord


class CatalogueItem(BaseModel):
    model_config = ConfigDict(frozen=True)
    sku: str
    name: str
    price: int  # cents
    stock: int  # initial units


Catalogue = dict[str, CatalogueItem]


class Stock(BaseModel):
    """A SKU's stock; `initial` is the baseline stock is conserved against."""

    model_config = ConfigDict(frozen=True)
    sku: str
    initial: int
    available: int
    holds: dict[str, int] = {}  # order id -> units
    reset_at: str


class Reservation(InboxRecord):
    order_id: str
    status: Literal["reserved", "rejected", "released"]
    lines: list[Line] = Field(default_factory=list)


def quote(catalogue: Catalogue, lines: list[tuple[str, int]]) -> tuple[list[Line], int, list[str]]:
    """Price `lines` from the catalogue: priced lines, total in cents, unknown SKUs."""
    unknown = [sku for sku, _ in lines if sku not in catalogue]
    priced = [
        Line(sku=sku, quantity=q, unit_price=catalogue[sku].price)
        for sku, q in lines
        if sku in catalogue
    ]
    return priced, sum(line.quantity * line.unit_price for line in priced), unknown


def new_stock(sku: str, units: int, reset_at: str) -> Stock:
    return Stock(sku=sku, initial=units, available=units, reset_at=reset_at)


def hold(stock: Stock, order_id: str, quantity: int) -> tuple[Stock, bool]:
    """Hold `quantity` units for the order; a second hold for the same order is a no-op."""
    if order_id in stock.holds:
        return stock, True
    if stock.available < quantity:
        return stock, False
    holds = {**stock.holds, order_id: quantity}
    return stock.model_copy(update={"available": stock.available - quantity, "holds": holds}), True


def unhold(stock: Stock, order_id: str) -> tuple[Stock, int]:
    """Give the order's held units back; releasing twice gives back nothing the second time."""
    if order_id not in stock.holds:
        return stock, 0
    holds = dict(stock.holds)
    units = holds.pop(order_id)
    return stock.model_copy(update={"available": stock.available + units, "holds": holds}), units


def reserved(cmd: ReserveStock) -> Decision[Reservation]:
    record = Reservation(order_id=cmd.order_id, status="reserved", lines=list(cmd.order.items))
    return Decision(record, StockReserved.answering(cmd, order=cmd.order))


def rejected(cmd: ReserveStock, short: list[str]) -> Decision[Reservation]:
    record = Reservation(order_id=cmd.order_id, status="rejected", lines=list(cmd.order.items))
    return Decision(record, StockRejected.answering(cmd, short_skus=tuple(short)))


def refuse_reserve(record: Reservation, cmd: ReserveStock) -> Decision[Reservation]:
    return Decision(
        record,
        refused=f"order {cmd.order_id}'s stock was already released; "
        "a reservation after its compensation is refused",
    )


def released(record: Reservation | None, cmd: ReleaseStock, units: int) -> Decision[Reservation]:
    """Mark the order released (a tombstone if nothing was reserved yet)."""
    rec = record or Reservation(order_id=cmd.order_id, status="released")
    return Decision(
        rec.model_copy(update={"status": "released"}), StockReleased.answering(cmd, units=units)
    )

"""Inventory's step handlers. A reservation holds each SKU in turn (one atomic write per
SKU document, deduplicated by order id), then records the outcome in the order's
reservation record with its inbox entry; any failure path gives back what it held."""

from datetime import UTC, datetime
from typing import Any

from daprshop_contracts.commands import ReleaseStock, ReserveStock
from daprshop_contracts.dapr import NO_WRITE, update
from daprshop_contracts.events import Message
from daprshop_contracts.inbox import Decision, Outcome, inbox_key, run_once
from daprshop_contracts.saga import STEP_BY_NAME, publishes
from daprshop_contracts.service import Ctx
from inventory import domain

STEP = "reserve_stock"


def reservation_key(order_id: str) -> str:
    return f"reservation:{order_id}"


def stock_key(sku: str) -> str:
    return f"stock:{sku}"


async def _update_stock(c: Ctx, sku: str, change: Any) -> Any:
    """Apply `change(doc) -> (doc, result)` to one SKU's document; None for an unknown SKU."""

    def apply(doc: Any) -> tuple[Any, Any]:
        if doc is None:
            return NO_WRITE, None
        new, result = change(doc)
        return (NO_WRITE if new is doc else new), result

    return await update(c.store, c.locks, stock_key(sku), apply)


async def _hold(c: Ctx, order_id: str, sku: str, quantity: int) -> bool:
    return bool(await _update_stock(c, sku, lambda d: domain.hold(d, order_id, quantity)))


async def _unhold(c: Ctx, order_id: str, sku: str) -> int:
    return int(await _update_stock(c, sku, lambda d: domain.unhold(d, order_id)) or 0)


async def _step(c: Ctx, cmd: Message, action: str, decide: Any) -> Outcome:
    return await run_once(
        c,
        reservation_key(cmd.order_id),
        inbox_key(cmd.order_id, STEP, action),
        decide,
        publish=publishes(STEP_BY_NAME[STEP], cmd.mode),
    )


async def reserve_stock(cmd: Message, c: Ctx) -> Outcome:
    assert isinstance(cmd, ReserveStock)
    lines = sorted(cmd.order.items, key=lambda line: line.sku)

    async def decide(record: dict[str, Any] | None) -> Decision:
        if record is not None and record["status"] == "released":
            for line in lines:  # give back anything an interrupted earlier attempt held
                await _unhold(c, cmd.order_id, line.sku)
            return domain.refuse_reserve(record, cmd)
        held: list[str] = []
        for line in lines:
            if not await _hold(c, cmd.order_id, line.sku, line.quantity):
                for sku in held:
                    await _unhold(c, cmd.order_id, sku)
                return domain.rejected(cmd, [line.sku])
            held.append(line.sku)
        return domain.reserved(cmd)

    return await _step(c, cmd, "forward", decide)


async def release_stock(cmd: Message, c: Ctx) -> Outcome:
    assert isinstance(cmd, ReleaseStock)

    async def decide(record: dict[str, Any] | None) -> Decision:
        units = 0
        for line in (record or {}).get("lines", []):
            units += await _unhold(c, cmd.order_id, line["sku"])
        return domain.released(record, cmd, units)

    return await _step(c, cmd, "compensate", decide)


HANDLERS = {"ReserveStock": reserve_stock, "ReleaseStock": release_stock}


async def seed_stock(
    c: Ctx,
    catalogue: dict[str, domain.CatalogueItem],
    *,
    overwrite: bool = False,
    levels: dict[str, int] | None = None,
) -> None:
    """Create each SKU's stock document from the seed (or `levels`), keeping existing ones
    unless `overwrite` (demo and test resets)."""
    now = datetime.now(UTC).isoformat()
    for sku, item in catalogue.items():
        if levels is not None and sku not in levels:
            continue
        fresh = domain.new_stock(sku, levels[sku] if levels is not None else item.stock, now)

        def reset(doc: Any, fresh: Any = fresh) -> tuple[Any, None]:
            return (NO_WRITE if doc is not None and not overwrite else fresh), None

        await update(c.store, c.locks, stock_key(sku), reset)

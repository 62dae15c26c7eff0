"""Inventory's step handlers. A reservation holds each SKU in turn (one atomic write per
SKU document, deduplicated by order id), then records the outcome in the order's
reservation record with its inbox entry; any failure path gives back what it held."""

from collections.abc import Callable
from datetime import UTC, datetime
from typing import TypeVar

from daprshop_contracts.commands import ReleaseStock, ReserveStock
from daprshop_platform.decision import Decision
from daprshop_platform.inbox import Outcome, run_once
from daprshop_platform.participant import StepHandler, handles
from daprshop_platform.state import update_model
from inventory import domain
from inventory.deps import InventoryDeps

T = TypeVar("T")


def reservation_key(order_id: str) -> str:
    return f"reservation:{order_id}"


def stock_key(sku: str) -> str:
    return f"stock:{sku}"


async def _update_stock(
    deps: InventoryDeps, sku: str, change: Callable[[domain.Stock], tuple[domain.Stock, T]]
) -> T | None:
    """Apply `change(stock) -> (stock, result)` to one SKU; None for an unknown SKU."""

    def apply(stock: domain.Stock | None) -> tuple[domain.Stock | None, T | None]:
        return (None, None) if stock is None else change(stock)

    platform = deps.platform
    return await update_model(platform.store, platform.locks, stock_key(sku), domain.Stock, apply)


async def _hold(deps: InventoryDeps, order_id: str, sku: str, quantity: int) -> bool:
    return bool(await _update_stock(deps, sku, lambda s: domain.hold(s, order_id, quantity)))


async def _unhold(deps: InventoryDeps, order_id: str, sku: str) -> int:
    return await _update_stock(deps, sku, lambda s: domain.unhold(s, order_id)) or 0


async def reserve_stock(cmd: ReserveStock, deps: InventoryDeps) -> Outcome:
    lines = sorted(cmd.order.items, key=lambda line: line.sku)

    async def decide(record: domain.Reservation | None) -> Decision[domain.Reservation]:
        if record is not None and record.status == "released":
            for line in lines:  # give back anything an interrupted earlier attempt held
                await _unhold(deps, cmd.order_id, line.sku)
            return domain.refuse_reserve(record, cmd)
        held: list[str] = []
        for line in lines:
            if not await _hold(deps, cmd.order_id, line.sku, line.quantity):
                for sku in held:
                    await _unhold(deps, cmd.order_id, sku)
                return domain.rejected(cmd, [line.sku])
            held.append(line.sku)
        return domain.reserved(cmd)

    key = reservation_key(cmd.order_id)
    return await run_once(deps.platform, key, cmd, domain.Reservation, decide)


async def release_stock(cmd: ReleaseStock, deps: InventoryDeps) -> Outcome:
    async def decide(record: domain.Reservation | None) -> Decision[domain.Reservation]:
        units = 0
        for line in record.lines if record else []:
            units += await _unhold(deps, cmd.order_id, line.sku)
        return domain.released(record, cmd, units)

    key = reservation_key(cmd.order_id)
    return await run_once(deps.platform, key, cmd, domain.Reservation, decide)


STEPS: list[StepHandler[InventoryDeps]] = [
    handles(ReserveStock, reserve_stock, "Hold every line's units for the order, all or nothing"),
    handles(ReleaseStock, release_stock, "Give the order's held units back (compensation)"),
]


async def seed_stock(
    deps: InventoryDeps, *, overwrite: bool = False, levels: dict[str, int] | None = None
) -> None:
    """Create each SKU's stock document from the catalogue (or `levels`), keeping existing
    ones unless `overwrite` (demo and test resets)."""
    now = datetime.now(UTC).isoformat()
    for sku, item in deps.catalogue.items():
        if levels is not None and sku not in levels:
            continue
        fresh = domain.new_stock(sku, levels[sku] if levels is not None else item.stock, now)

        def reset(
            stock: domain.Stock | None, fresh: domain.Stock = fresh
        ) -> tuple[domain.Stock | None, None]:
            return (None if stock is not None and not overwrite else fresh), None

        platform = deps.platform
        await update_model(platform.store, platform.locks, stock_key(sku), domain.Stock, reset)

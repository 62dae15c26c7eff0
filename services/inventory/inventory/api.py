"""Inventory's own HTTP surface: the catalogue and quotes orders price with, read-only stock
views, and admin resets for demos and tests. (Commands are mounted by the platform.)"""

from typing import Annotated, Any

from fastapi import APIRouter, Body, HTTPException
from pydantic import BaseModel, Field

from daprshop_contracts.fields import MAX_LINES, Count, Quantity, Sku
from daprshop_platform.audit import audit_routes
from daprshop_platform.service import ADMIN_RESPONSES, AdminDep
from inventory import domain, handlers
from inventory.deps import DepsDep

router = APIRouter()


class QuoteLine(BaseModel):
    sku: Sku
    quantity: Quantity


class QuoteRequest(BaseModel):
    items: list[QuoteLine] = Field(max_length=MAX_LINES)


def _stock_view(stock: domain.Stock) -> dict[str, Any]:
    return {**stock.model_dump(), "reserved": sum(stock.holds.values())}


@router.get("/catalogue", tags=["catalogue"], summary="SKUs, names and prices (cents)")
async def catalogue(deps: DepsDep) -> list[dict[str, Any]]:
    return [i.model_dump(exclude={"stock"}) for i in deps.catalogue.values()]


@router.post(
    "/catalogue/quote",
    tags=["catalogue"],
    summary="Price order lines from the catalogue; lists unknown SKUs",
)
async def quote(req: QuoteRequest, deps: DepsDep) -> dict[str, Any]:
    lines, total, unknown = domain.quote(deps.catalogue, [(i.sku, i.quantity) for i in req.items])
    return {"lines": [line.model_dump() for line in lines], "total": total, "unknown": unknown}


@router.get("/stock", tags=["audit"], summary="Every SKU: initial, available, reserved, holds")
async def stock(deps: DepsDep) -> list[dict[str, Any]]:
    docs = await deps.platform.store.get_many([handlers.stock_key(s) for s in deps.catalogue])
    return [_stock_view(domain.Stock.model_validate(d)) for d in docs.values()]


@router.get("/stock/{sku}", tags=["audit"], summary="One SKU's stock and holds per order")
async def stock_of(sku: str, deps: DepsDep) -> dict[str, Any]:
    doc, _ = await deps.platform.store.get(handlers.stock_key(sku))
    if doc is None:
        raise HTTPException(404, f"unknown SKU {sku!r}")
    return _stock_view(domain.Stock.model_validate(doc))


audit_routes(router, "reservations", handlers.reservation_key, "reservation")


@router.put(
    "/admin/stock",
    tags=["admin"],
    dependencies=[AdminDep],
    summary="Set SKUs' stock levels (holds cleared): for tests and demos",
    responses=ADMIN_RESPONSES,
)
async def set_stock(
    levels: Annotated[dict[Sku, Count], Body(examples=[{"SKU-001": 10}])], deps: DepsDep
) -> dict[str, Any]:
    unknown = sorted(set(levels) - set(deps.catalogue))
    if unknown:
        raise HTTPException(422, f"unknown SKUs {unknown}")
    await handlers.seed_stock(deps, overwrite=True, levels=levels)
    return {"set": levels}


@router.post(
    "/admin/reset",
    tags=["admin"],
    dependencies=[AdminDep],
    summary="Reset every SKU to the seed file's stock (holds cleared)",
    responses=ADMIN_RESPONSES,
)
async def reset(deps: DepsDep) -> dict[str, str]:
    await handlers.seed_stock(deps, overwrite=True)
    return {"reset": "stock"}

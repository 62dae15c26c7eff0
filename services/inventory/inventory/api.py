"""Inventory's HTTP surface: the catalogue and quotes orders price with, the invocation
endpoints the orchestrator calls, read-only stock views, and admin resets for demos/tests."""

from typing import Annotated, Any

from fastapi import APIRouter, Body, HTTPException
from pydantic import BaseModel, Field

from daprshop_contracts.commands import ReleaseStock, ReserveStock
from daprshop_contracts.participant import answer, audit_routes, execute
from daprshop_contracts.service import AdminDep, CtxDep
from inventory import domain, handlers

router = APIRouter()


class QuoteLine(BaseModel):
    sku: str
    quantity: int = Field(gt=0)


class QuoteRequest(BaseModel):
    items: list[QuoteLine]


def _stock_view(doc: dict[str, Any]) -> dict[str, Any]:
    return {**doc, "reserved": sum(doc["holds"].values())}


@router.get("/catalogue", tags=["catalogue"], summary="SKUs, names and prices (cents)")
async def catalogue(c: CtxDep) -> list[dict[str, Any]]:
    return [i.model_dump(exclude={"stock"}) for i in c.extra["catalogue"].values()]


@router.post(
    "/catalogue/quote",
    tags=["catalogue"],
    summary="Price order lines from the catalogue; lists unknown SKUs",
)
async def quote(req: QuoteRequest, c: CtxDep) -> dict[str, Any]:
    lines, total, unknown = domain.quote(
        c.extra["catalogue"], [(i.sku, i.quantity) for i in req.items]
    )
    return {"lines": [line.model_dump() for line in lines], "total": total, "unknown": unknown}


@router.post(
    "/commands/ReserveStock",
    tags=["commands"],
    summary="Hold every line's units for the order, all or nothing",
)
async def reserve_stock(cmd: ReserveStock, c: CtxDep) -> dict[str, Any]:
    return answer(await execute(handlers.reserve_stock, "ReserveStock", cmd, c))


@router.post(
    "/commands/ReleaseStock",
    tags=["commands"],
    summary="Give the order's held units back (compensation)",
)
async def release_stock(cmd: ReleaseStock, c: CtxDep) -> dict[str, Any]:
    return answer(await execute(handlers.release_stock, "ReleaseStock", cmd, c))


@router.get("/stock", tags=["audit"], summary="Every SKU: initial, available, reserved, holds")
async def stock(c: CtxDep) -> list[dict[str, Any]]:
    docs = await c.store.get_many([handlers.stock_key(s) for s in c.extra["catalogue"]])
    return [_stock_view(d) for d in docs.values()]


@router.get("/stock/{sku}", tags=["audit"], summary="One SKU's stock and holds per order")
async def stock_of(sku: str, c: CtxDep) -> dict[str, Any]:
    doc, _ = await c.store.get(handlers.stock_key(sku))
    if doc is None:
        raise HTTPException(404, f"unknown SKU {sku!r}")
    return _stock_view(doc)


audit_routes(router, "reservations", handlers.reservation_key, "reservation")


@router.put(
    "/admin/stock",
    tags=["admin"],
    dependencies=[AdminDep],
    summary="Set SKUs' stock levels (holds cleared): for tests and demos",
)
async def set_stock(
    levels: Annotated[dict[str, int], Body(examples=[{"SKU-001": 10}])], c: CtxDep
) -> dict[str, Any]:
    unknown = sorted(set(levels) - set(c.extra["catalogue"]))
    if unknown or any(v < 0 for v in levels.values()):
        raise HTTPException(422, f"unknown SKUs {unknown} or negative levels")
    await handlers.seed_stock(c, c.extra["catalogue"], overwrite=True, levels=levels)
    return {"set": levels}


@router.post(
    "/admin/reset",
    tags=["admin"],
    dependencies=[AdminDep],
    summary="Reset every SKU to the seed file's stock (holds cleared)",
)
async def reset(c: CtxDep) -> dict[str, str]:
    await handlers.seed_stock(c, c.extra["catalogue"], overwrite=True)
    return {"reset": "stock"}

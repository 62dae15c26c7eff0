"""Orders' public API: place, read and list orders; see dead letters."""

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Header, HTTPException, Query, Response
from fastapi.responses import FileResponse, JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from daprshop_contracts.events import Mode
from daprshop_contracts.saga import Status
from daprshop_contracts.service import CtxDep
from orders import domain, handlers, operations, store
from orders.schemas import OrderPage, OrderPublic

router = APIRouter(tags=["orders"])
STATIC = Path(__file__).with_name("static")


@router.post(
    "/orders",
    status_code=202,
    summary="Place an order",
    responses={
        202: {"description": "Accepted; the saga runs asynchronously"},
        413: {"description": "Body too large"},
        422: {"description": "Invalid request, field by field"},
        501: {"description": "Mode not available yet"},
    },
    response_model=OrderPublic,
)
async def place_order(
    req: domain.OrderCreate,
    c: CtxDep,
    response: Response,
    idempotency_key: Annotated[
        str | None,
        Header(
            max_length=128,
            description=("A retry with the same key (per customer) returns the same order"),
        ),
    ] = None,
) -> dict[str, Any]:
    try:
        placed = await handlers.place_order(req, idempotency_key, c)
    except handlers.Rejected as err:
        raise HTTPException(err.status, err.detail) from err
    response.headers["Location"] = f"/orders/{placed.order['order_id']}"
    if placed.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return domain.public(placed.order)


@router.get(
    "/orders/{order_id}",
    summary="An order: status, reason and saga timeline",
    response_model=OrderPublic,
    responses={404: {"description": "No such order"}},
)
async def get_order(order_id: str, c: CtxDep) -> dict[str, Any]:
    order, _ = await c.store.get(store.order_key(order_id))
    if order is None:
        raise HTTPException(404, f"no order {order_id!r}")
    return {**domain.public(order), "workflow": await operations.workflow_view(order, c)}


@router.get(
    "/orders/{order_id}/status",
    summary="Just an order's status and timestamps",
    responses={404: {"description": "No such order"}},
)
async def get_status(order_id: str, c: CtxDep) -> dict[str, Any]:
    """Cheap to poll (no timeline, no workflow lookup): what load tests and scripts need."""
    order, _ = await c.store.get(store.order_key(order_id))
    if order is None:
        raise HTTPException(404, f"no order {order_id!r}")
    return {
        k: order[k] for k in ("order_id", "mode", "status", "reason", "created_at", "terminal_at")
    }


@router.get("/orders", summary="Orders, newest first, filtered and paged", response_model=OrderPage)
async def list_orders(
    c: CtxDep,
    mode: Mode | None = None,
    status: Status | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[
        int | None, Query(ge=1, description="next_cursor of the previous page")
    ] = None,
) -> dict[str, Any]:
    orders, next_cursor = await store.list_orders(
        c,
        mode=mode.value if mode else None,
        status=status.value if status else None,
        limit=limit,
        cursor=cursor,
    )
    return {"orders": [domain.public(o) for o in orders], "next_cursor": next_cursor}


@router.get("/dead-letters", tags=["ops"], summary="Messages no handler could process")
async def dead_letters(c: CtxDep) -> list[dict[str, Any]]:
    letters, _ = await c.store.get(store.DEAD_LETTERS_KEY)
    return list(letters or [])


@router.get("/", include_in_schema=False)
async def saga_page() -> FileResponse:
    """A small page: orders flowing per mode, and each order's saga step by step."""
    return FileResponse(STATIC / "index.html")


class BodyLimit:
    """Refuse oversize bodies before parsing them (pure ASGI: the BaseHTTPMiddleware
    decorator cost ~1% of orders' CPU under load, see the benchmark doc)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            length = dict(scope["headers"]).get(b"content-length", b"")
            if length.isdigit() and int(length) > domain.MAX_BODY_BYTES:
                detail = (
                    f"request body is {int(length)} bytes; the limit is {domain.MAX_BODY_BYTES}"
                )
                await JSONResponse(status_code=413, content={"detail": detail})(
                    scope, receive, send
                )
                return
        await self.app(scope, receive, send)

"""Orders' public API: place, read and list orders; see dead letters; the saga page."""

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Header, HTTPException, Query, Response
from fastapi.responses import FileResponse

from daprshop_contracts.events import Mode
from daprshop_contracts.saga import Status
from orders import placing, store
from orders.deps import DepsDep, load, shown
from orders.saga import operator
from orders.schemas import OrderCreate, OrderPage, OrderPublic

router = APIRouter(tags=["orders"])
STATIC = Path(__file__).with_name("static")
MAX_BODY_BYTES = 16_384
# What a customer (and the saga page, with its API docs) reaches without the sidecar's token;
# every other route of orders, operations and admin included, answers its sidecar only.
PUBLIC = (
    ("POST", "/orders"),
    ("GET", "/orders"),
    ("GET", "/orders/{order_id}"),
    ("GET", "/orders/{order_id}/status"),
    ("GET", "/"),
    ("GET", "/docs"),
    ("GET", "/openapi.json"),
)


@router.post(
    "/orders",
    status_code=202,
    summary="Place an order",
    responses={
        202: {"description": "Accepted; the saga runs asynchronously"},
        413: {"description": "Body too large"},
        422: {"description": "Invalid request, field by field"},
        503: {"description": "inventory could not price the order; retry"},
    },
    response_model=OrderPublic,
)
async def place_order(
    req: OrderCreate,
    deps: DepsDep,
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
        placed = await placing.place_order(req, idempotency_key, deps)
    except placing.Rejected as err:
        raise HTTPException(err.status, err.detail) from err
    response.headers["Location"] = f"/orders/{placed.order.order_id}"
    if placed.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return shown(placed.order, deps)


@router.get(
    "/orders/{order_id}",
    summary="An order: status, reason and saga timeline",
    response_model=OrderPublic,
    responses={404: {"description": "No such order"}},
)
async def get_order(order_id: str, deps: DepsDep) -> dict[str, Any]:
    order = await load(order_id, deps)
    return {**shown(order, deps), "workflow": await operator.workflow_view(order, deps)}


@router.get(
    "/orders/{order_id}/status",
    summary="Just an order's status and timestamps",
    responses={404: {"description": "No such order"}},
)
async def get_status(order_id: str, deps: DepsDep) -> dict[str, Any]:
    """Cheap to poll (no timeline, no workflow lookup): what load tests and scripts need."""
    order = await load(order_id, deps)
    return order.model_dump(
        mode="json", include={"order_id", "mode", "status", "reason", "created_at", "terminal_at"}
    )


@router.get("/orders", summary="Orders, newest first, filtered and paged", response_model=OrderPage)
async def list_orders(
    deps: DepsDep,
    mode: Mode | None = None,
    status: Status | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[
        int | None, Query(ge=1, description="next_cursor of the previous page")
    ] = None,
) -> dict[str, Any]:
    orders, next_cursor = await store.list_orders(
        deps.platform,
        mode=mode.value if mode else None,
        status=status.value if status else None,
        limit=limit,
        cursor=cursor,
    )
    return {"orders": [shown(o, deps) for o in orders], "next_cursor": next_cursor}


@router.get("/dead-letters", tags=["ops"], summary="Messages no handler could process")
async def dead_letters(deps: DepsDep) -> list[dict[str, Any]]:
    letters, _ = await deps.platform.store.get(store.DEAD_LETTERS_KEY)
    return list(letters or [])


@router.get("/", include_in_schema=False)
async def saga_page() -> FileResponse:
    """A small page: orders flowing per mode, and each order's saga step by step."""
    return FileResponse(STATIC / "index.html")

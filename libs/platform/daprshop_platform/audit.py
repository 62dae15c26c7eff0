"""Read-only views of a participant's per-order records, for people and `daprshop verify`."""

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel, Field

from daprshop_platform import index
from daprshop_platform.service import PlatformDep


class Lookup(BaseModel):
    order_ids: list[str] = Field(max_length=1000)


def audit_routes(router: APIRouter, path: str, key: Callable[[str], str], noun: str) -> None:
    """One order's record (with its inbox), many at once or every one a page at a time
    (without inboxes)."""

    @router.get(
        f"/{path}",
        tags=["audit"],
        summary=f"Every order's {noun} record, one index page at a time (read-only)",
    )
    async def every(
        platform: PlatformDep, page: Annotated[int, Query(ge=0, lt=index.PAGES)] = 0
    ) -> dict[str, Any]:
        found = await index.records(platform.store, page, key(""))
        return {
            "records": [{k: v for k, v in r.items() if k != "inbox"} for r in found.values()],
            "next_page": page + 1 if page + 1 < index.PAGES else None,
        }

    @router.get(f"/{path}/{{order_id}}", tags=["audit"], summary=f"The {noun} of one order")
    async def one(order_id: str, platform: PlatformDep) -> dict[str, Any]:
        record, _ = await platform.store.get(key(order_id))
        if record is None:
            raise HTTPException(404, f"no {noun} for order {order_id!r}")
        return dict(record)

    @router.post(
        f"/{path}/lookup",
        tags=["audit"],
        summary=f"Many orders' {noun} records at once (read-only)",
    )
    async def many(req: Lookup, platform: PlatformDep) -> dict[str, Any]:
        found = await platform.store.get_many([key(oid) for oid in req.order_ids])
        return {r["order_id"]: {k: v for k, v in r.items() if k != "inbox"} for r in found.values()}

"""Orders' state: order records (ETag-guarded), a sequence counter and a per-sequence index
for paged listing (Redis state has no query API), and the dead-letter list."""

from collections.abc import Callable
from typing import Any, TypeVar

from daprshop_platform.service import Platform
from daprshop_platform.state import NO_WRITE, update, update_model
from orders.domain import Order

SEQ_KEY = "orders:seq"
DEAD_LETTERS_KEY = "deadletters:recent"
DEAD_LETTERS_KEPT = 500
T = TypeVar("T")


def order_key(order_id: str) -> str:
    return f"order:{order_id}"


def index_key(seq: int) -> str:
    return f"orders:by-seq:{seq}"


async def get_order(platform: Platform, order_id: str) -> Order | None:
    raw, _ = await platform.store.get(order_key(order_id))
    return None if raw is None else Order.model_validate(raw)


async def update_order(
    platform: Platform, order_id: str, change: Callable[[Order | None], tuple[Order | None, T]]
) -> T:
    """Read-modify-write of one order; `change` returns (new order or None to leave it,
    result)."""
    return await update_model(platform.store, platform.locks, order_key(order_id), Order, change)


async def next_seq(platform: Platform) -> int:
    def bump(current: Any) -> tuple[int, int]:
        return int(current or 0) + 1, int(current or 0) + 1

    return await update(platform.store, platform.locks, SEQ_KEY, bump)


async def list_orders(
    platform: Platform,
    *,
    mode: str | None,
    status: str | None,
    limit: int,
    cursor: int | None,
    scan_limit: int = 5000,
) -> tuple[list[Order], int | None]:
    """Newest first. Returns the page and the cursor of the next page (None at the end)."""
    top = int((await platform.store.get(SEQ_KEY))[0] or 0)
    start = min(top, cursor - 1) if cursor else top
    found: list[Order] = []
    seq = start
    while seq >= 1 and len(found) < limit and start - seq < scan_limit:
        batch = list(range(seq, max(0, seq - 100), -1))
        index = await platform.store.get_many([index_key(n) for n in batch])
        orders = await platform.store.get_many([order_key(v["order_id"]) for v in index.values()])
        for n in batch:
            entry = index.get(index_key(n))
            raw = orders.get(order_key(entry["order_id"])) if entry else None
            seq = n - 1
            if (
                raw
                and (mode is None or raw["mode"] == mode)
                and (status is None or raw["status"] == status)
            ):
                found.append(Order.model_validate(raw))
                if len(found) == limit:
                    break
    return found, (seq + 1 if seq >= 1 else None)


async def add_dead_letter(platform: Platform, letter: dict[str, Any]) -> None:
    def add(letters: list[dict[str, Any]] | None) -> tuple[Any, None]:
        if any(x["id"] == letter["id"] for x in letters or []):
            return NO_WRITE, None
        return [letter, *(letters or [])][:DEAD_LETTERS_KEPT], None

    await update(platform.store, platform.locks, DEAD_LETTERS_KEY, add)

"""Orders' state adapter: order records (ETag-guarded), a sequence counter and a per-sequence
index for paged listing (Redis state has no query API), and the dead-letter list."""

from typing import Any

from daprshop_contracts.dapr import NO_WRITE, update
from daprshop_contracts.service import Ctx

SEQ_KEY = "orders:seq"
DEAD_LETTERS_KEY = "deadletters:recent"
DEAD_LETTERS_KEPT = 500


def order_key(order_id: str) -> str:
    return f"order:{order_id}"


def index_key(seq: int) -> str:
    return f"orders:by-seq:{seq}"


async def next_seq(c: Ctx) -> int:
    return await update(
        c.store, c.locks, SEQ_KEY, lambda current: (int(current or 0) + 1, int(current or 0) + 1)
    )


async def list_orders(
    c: Ctx,
    *,
    mode: str | None,
    status: str | None,
    limit: int,
    cursor: int | None,
    scan_limit: int = 5000,
) -> tuple[list[dict[str, Any]], int | None]:
    """Newest first. Returns the page and the cursor of the next page (None at the end)."""
    top = int((await c.store.get(SEQ_KEY))[0] or 0)
    start = min(top, cursor - 1) if cursor else top
    found: list[dict[str, Any]] = []
    seq = start
    while seq >= 1 and len(found) < limit and start - seq < scan_limit:
        batch = list(range(seq, max(0, seq - 100), -1))
        index = await c.store.get_many([index_key(n) for n in batch])
        orders = await c.store.get_many([order_key(v["order_id"]) for v in index.values()])
        for n in batch:
            entry = index.get(index_key(n))
            order = orders.get(order_key(entry["order_id"])) if entry else None
            seq = n - 1
            if (
                order
                and (mode is None or order["mode"] == mode)
                and (status is None or order["status"] == status)
            ):
                found.append(order)
                if len(found) == limit:
                    break
    return found, (seq + 1 if seq >= 1 else None)


async def add_dead_letter(c: Ctx, letter: dict[str, Any]) -> None:
    def add(letters: list[dict[str, Any]] | None) -> tuple[Any, None]:
        if any(x["id"] == letter["id"] for x in letters or []):
            return NO_WRITE, None
        return [letter, *(letters or [])][:DEAD_LETTERS_KEPT], None

    await update(c.store, c.locks, DEAD_LETTERS_KEY, add)

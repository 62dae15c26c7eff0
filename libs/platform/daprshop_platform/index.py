"""Which per-order records a participant holds, so they can be listed (Dapr's state API lists
no keys): record keys spread over a fixed number of index documents. A key is indexed before
its record is first written, so no record is missing from the index after a crash; an indexed
key whose record was never written is skipped when listing."""

import zlib
from typing import Any

from daprshop_platform.ports import StateStore
from daprshop_platform.service import Platform
from daprshop_platform.state import NO_WRITE, update

PAGES = 64  # index documents: each stays small (about 1/64 of the records' keys)


def page_of(key: str) -> int:
    return zlib.crc32(key.encode()) % PAGES


def _index_key(page: int) -> str:
    return f"index:{page}"


async def register(platform: Platform, key: str) -> None:
    """Add `key` to its index document, if it is not there yet (one read when it is)."""

    def add(keys: list[str] | None) -> tuple[Any, None]:
        if keys is not None and key in keys:
            return NO_WRITE, None
        return [*(keys or []), key], None

    await update(platform.store, platform.locks, _index_key(page_of(key)), add, platform.stats)


async def records(store: StateStore, page: int, prefix: str) -> dict[str, Any]:
    """The records on one index page whose keys start with `prefix`, by key."""
    keys, _ = await store.get(_index_key(page))
    return await store.get_many([k for k in keys or [] if k.startswith(prefix)])

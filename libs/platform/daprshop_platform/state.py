"""Read-modify-write of one key under a per-key lock, retried on ETag conflicts: the only way
daprshop changes state. Every write is a single key: Dapr's Redis transactions do not roll
back (README)."""

import asyncio
import inspect
import weakref
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from pydantic import BaseModel

from daprshop_platform.ports import ETagMismatch, StateStore


class KeyedLocks:
    """One asyncio lock per key (an order, a SKU): serialises read-modify-write cycles in
    this process so ETag conflicts stay rare; ETags still guard against other processes."""

    def __init__(self) -> None:
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()

    @asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        lock = self._locks.get(key)
        if lock is None:
            lock = self._locks[key] = asyncio.Lock()
        async with lock:
            yield


MAX_CONFLICTS = 20
R = TypeVar("R")
M = TypeVar("M", bound=BaseModel)
NO_WRITE: Any = object()


async def update(
    store: StateStore,
    locks: KeyedLocks,
    key: str,
    change: Callable[[Any | None], tuple[Any, R] | Awaitable[tuple[Any, R]]],
    conflicts: Counter[str] | None = None,
) -> R:
    """Read-modify-write of one key under its lock, retried on ETag conflicts (counted in
    `conflicts["etag_conflicts"]`). `change(value)` returns (new value, result), or an
    awaitable of it; new value NO_WRITE means "leave it". It runs again after a conflict."""
    async with locks.hold(key):
        for _ in range(MAX_CONFLICTS):
            value, etag = await store.get(key)
            changed = change(value)
            new, result = await changed if inspect.isawaitable(changed) else changed
            if new is NO_WRITE:
                return result
            try:
                await store.save(key, new, etag)
            except ETagMismatch:
                if conflicts is not None:
                    conflicts["etag_conflicts"] += 1
                continue  # another writer got there first: read again, change again
            return result
    raise RuntimeError(f"{key}: {MAX_CONFLICTS} ETag conflicts in a row")


async def update_model(
    store: StateStore,
    locks: KeyedLocks,
    key: str,
    model: type[M],
    change: Callable[[M | None], tuple[M | None, R] | Awaitable[tuple[M | None, R]]],
    conflicts: Counter[str] | None = None,
) -> R:
    """`update` of one key holding a `model`: `change(current or None)` returns the new
    model, or None or `current` itself to leave the key as it is, and a result."""

    async def apply(raw: Any | None) -> tuple[Any, R]:
        current = None if raw is None else model.model_validate(raw)
        changed = change(current)
        new, result = await changed if inspect.isawaitable(changed) else changed
        if new is None or new is current:
            return NO_WRITE, result
        return new.model_dump(mode="json"), result

    return await update(store, locks, key, apply, conflicts)

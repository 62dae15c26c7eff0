"""In-memory stand-ins for the Dapr state store and publisher, for unit tests of handlers.
They keep Dapr's first-write semantics (an ETag must match; no ETag means create-only)."""

import copy
from collections import Counter
from typing import Any

from daprshop_contracts.dapr import ETagMismatch, KeyedLocks
from daprshop_contracts.events import Event
from daprshop_contracts.service import Ctx
from daprshop_contracts.settings import ServiceSettings


class FakeStore:
    def __init__(self) -> None:
        self.data: dict[str, tuple[Any, int]] = {}
        self.writes = 0

    async def get(self, key: str) -> tuple[Any | None, str | None]:
        if key not in self.data:
            return None, None
        value, version = self.data[key]
        return copy.deepcopy(value), str(version)

    async def get_many(self, keys: list[str]) -> dict[str, Any]:
        return {k: copy.deepcopy(self.data[k][0]) for k in keys if k in self.data}

    async def save(self, key: str, value: Any, etag: str | None = None) -> None:
        current = self.data.get(key)
        if (etag is None and current is not None) or (
            etag is not None and (current is None or str(current[1]) != etag)
        ):
            raise ETagMismatch(key)
        self.data[key] = (copy.deepcopy(value), (current[1] if current else 0) + 1)
        self.writes += 1


class FakePublisher:
    def __init__(self) -> None:
        self.published: list[tuple[str, dict[str, Any]]] = []

    async def publish(self, event: Event) -> None:
        self.published.append((event.TYPE, event.envelope_data()))

    async def publish_raw(self, type_: str, data: dict[str, Any]) -> None:
        self.published.append((type_, data))

    def types(self) -> list[str]:
        return [t.split(".")[1] for t, _ in self.published]


def fake_ctx(app_id: str, **extra: Any) -> Ctx:
    settings = ServiceSettings(app_id=app_id)
    return Ctx(
        settings,
        None,
        FakeStore(),
        FakePublisher(),
        KeyedLocks(),
        None,  # type: ignore[arg-type]
        Counter(),
        extra,
    )

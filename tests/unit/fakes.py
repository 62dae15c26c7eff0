"""In-memory fakes of the platform's ports (state store, publisher, invoker, secrets), for unit
tests of handlers and apps. The store keeps Dapr's first-write semantics (an ETag must match;
no ETag means create-only)."""

import asyncio
import copy
from typing import Any

from pydantic import BaseModel

from daprshop_contracts.events import Event
from daprshop_platform.ports import ETagMismatch, SecretUnavailable
from daprshop_platform.service import Platform
from daprshop_platform.settings import ServiceSettings

# Distinctive values, so a test can show that no answer ever carries them.
APP_TOKEN = "unit-app-token-7f3a9c"
ADMIN_TOKEN = "unit-admin-token-b81e44"


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
    transactional = False

    def __init__(self, store: FakeStore) -> None:
        self.published: list[tuple[str, dict[str, Any]]] = []
        self._store = store

    async def publish(self, event: Event) -> None:
        self.published.append((event.TYPE, event.envelope_data()))

    async def publish_raw(self, type_: str, data: dict[str, Any]) -> None:
        self.published.append((type_, data))

    async def save_and_publish(self, key: str, value: dict[str, Any], event: Event) -> None:
        await self._store.save(key, value)
        await self.publish(event)

    async def publish_to(self, topic: str, type_: str, body: BaseModel) -> None:
        self.published.append((type_, body.model_dump(mode="json")))

    def types(self) -> list[str]:
        return [t.split(".")[1] for t, _ in self.published]


class NoInvoker:
    async def call(
        self, app_id: str, method: str, payload: Any = None, verb: str = "POST"
    ) -> tuple[int, Any]:
        raise AssertionError(f"a unit test invoked {app_id}/{method}")


class FakeSecrets:
    """The secret store: `secrets` by name; `down` makes every read fail."""

    def __init__(self, secrets: dict[str, str] | None = None, down: bool = False) -> None:
        self.secrets = {"admin-token": ADMIN_TOKEN} if secrets is None else secrets
        self.down = down
        self.reads = 0

    async def get(self, name: str) -> str:
        self.reads += 1
        if self.down or name not in self.secrets:
            raise SecretUnavailable(f"secret {name!r} of the fake store is unavailable")
        return self.secrets[name]


def fake_platform(
    app_id: str, settings: ServiceSettings | None = None, secrets: FakeSecrets | None = None
) -> Platform:
    store = FakeStore()
    loop = asyncio.new_event_loop()
    loop.close()  # a placeholder: participants never hand work to another loop
    settings = settings or ServiceSettings(app_id=app_id, app_api_token=APP_TOKEN)
    secrets = secrets or FakeSecrets()
    return Platform(settings, store, FakePublisher(store), NoInvoker(), secrets, loop)

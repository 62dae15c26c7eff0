"""Small Dapr helpers shared by the services: ETag-checked state and event publication
(direct, or through Dapr's transactional outbox)."""

import asyncio
import inspect
import json
import weakref
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, Literal, TypeVar

import aiohttp
import grpc
from dapr.aio.clients import DaprClient
from dapr.clients.exceptions import DaprInternalError
from dapr.clients.grpc._request import TransactionalStateOperation
from dapr.clients.grpc._state import Concurrency, StateOptions

from daprshop_contracts.events import Event, Pinged

_ETAG_CODES = (grpc.StatusCode.ABORTED, grpc.StatusCode.FAILED_PRECONDITION)


class ETagMismatch(Exception):
    """The state changed since it was read: re-read and decide again."""


class StateStore:
    """JSON values in one Dapr state store, with first-write-wins concurrency on ETags.
    Every write is a single key: Dapr's Redis transactions do not roll back (README)."""

    def __init__(self, client: DaprClient, name: str) -> None:
        self._client, self.name = client, name

    async def get(self, key: str) -> tuple[Any | None, str | None]:
        resp = await self._client.get_state(self.name, key)
        if not resp.data:
            return None, None
        return json.loads(resp.data), resp.etag or None

    async def get_many(self, keys: list[str]) -> dict[str, Any]:
        if not keys:
            return {}
        resp = await self._client.get_bulk_state(self.name, keys, parallelism=16)
        return {item.key: json.loads(item.data) for item in resp.items if item.data}

    async def save(self, key: str, value: Any, etag: str | None = None) -> None:
        """Write `value` with first-write-wins concurrency: with an `etag`, only over that
        version; without one, only if the key does not exist yet. Otherwise ETagMismatch."""
        options = StateOptions(concurrency=Concurrency.first_write)
        try:
            await self._client.save_state(
                self.name, key, json.dumps(value), etag=etag, options=options
            )
        except DaprInternalError as err:
            # The aio client wraps the gRPC error: ABORTED for a stale ETag; for a create over
            # an existing key, Redis' script answers "failed to set key" (INTERNAL).
            cause = err.__cause__
            if isinstance(cause, grpc.aio.AioRpcError) and (
                cause.code() in _ETAG_CODES
                or (etag is None and "failed to set key" in (cause.details() or ""))
            ):
                raise ETagMismatch(f"{key}: {cause.details()}") from err
            raise


PublishVia = Literal["outbox", "direct"]


class Publisher:
    """Publishes a service's events to its own topic, as CloudEvents typed by event TYPE.

    `outbox`: a state transaction that records the event; Dapr's outbox publishes it once the
    transaction committed. It holds a single upsert without ETag, so the Redis transaction
    cannot half-fail. `direct`: Dapr's publish API (faster: no outbox round trip)."""

    def __init__(
        self, client: DaprClient, pubsub: str, topic: str, store: str, via: PublishVia
    ) -> None:
        self._client, self._pubsub, self._topic = client, pubsub, topic
        self._store, self.via = store, via

    async def publish(self, event: Event) -> None:
        await self.publish_raw(event.TYPE, event.envelope_data())

    async def publish_raw(self, type_: str, data: dict[str, Any]) -> None:
        body = json.dumps(data)
        if self.via == "direct":
            await self._client.publish_event(
                self._pubsub,
                self._topic,
                body,
                data_content_type="application/json",
                publish_metadata={
                    "cloudevent.type": type_,
                    "cloudevent.id": str(data["message_id"]),
                },
            )
            return
        await self._outbox(
            f"outbox:{data['message_id']}", body, body, type_, {"ttlInSeconds": "86400"}
        )

    async def save_and_publish(
        self, store: StateStore, key: str, value: dict[str, Any], event: Event
    ) -> None:
        """Create `key` and publish `event` together. Through the outbox this is one state
        transaction (the event as the outbox projection of the record), so a crash cannot
        keep one without the other; directly, it is a save followed by a publish."""
        if self.via == "direct":
            await store.save(key, value)
            await self.publish(event)
            return
        await self._outbox(key, json.dumps(value), json.dumps(event.envelope_data()), event.TYPE)

    async def _outbox(
        self,
        key: str,
        stored: str,
        published: str,
        type_: str,
        metadata: dict[str, str] | None = None,
    ) -> None:
        """One transaction: `stored` is written at `key`; `published` is its outbox
        projection. The stored op's metadata becomes CloudEvent attributes (our `type`);
        contentType sits on the projection only: on a state op, Dapr's Redis store would
        switch to RedisJSON commands, which plain Redis lacks."""
        ops = [
            TransactionalStateOperation(
                key=key, data=stored, metadata={**(metadata or {}), "type": type_}
            ),
            TransactionalStateOperation(
                key=key,
                data=published,
                metadata={"outbox.projection": "true", "contentType": "application/json"},
            ),
        ]
        await self._client.execute_state_transaction(self._store, ops)

    async def ping(self, topic: str, ping: Pinged) -> None:
        await self._client.publish_event(
            self._pubsub,
            topic,
            ping.model_dump_json(),
            data_content_type="application/json",
            publish_metadata={"cloudevent.type": ping.TYPE},
        )


class Invoker:
    """Service invocation through the sidecar's HTTP API on one shared aiohttp session (the
    SDK's HTTP invoker opens a new session per call). Returns the callee's status and JSON."""

    def __init__(self, dapr_http_port: int, timeout_s: float) -> None:
        self._base = f"http://127.0.0.1:{dapr_http_port}/v1.0/invoke"
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._session: aiohttp.ClientSession | None = None

    async def call(
        self, app_id: str, method: str, payload: Any = None, verb: str = "POST"
    ) -> tuple[int, Any]:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        url = f"{self._base}/{app_id}/method/{method}"
        async with self._session.request(verb, url, json=payload) as resp:
            body = await resp.read()
            try:
                return resp.status, json.loads(body) if body else None
            except ValueError:
                return resp.status, {"detail": body.decode(errors="replace")}

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()


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

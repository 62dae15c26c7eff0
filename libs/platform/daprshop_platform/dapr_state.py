"""Dapr adapters of the state and publishing ports: ETag-checked state on one state store, and
event publication, directly or through Dapr's transactional outbox."""

import json
from typing import Any, Literal

import grpc
from dapr.aio.clients import DaprClient
from dapr.clients.exceptions import DaprInternalError
from dapr.clients.grpc._request import TransactionalStateOperation
from dapr.clients.grpc._state import Concurrency, StateOptions
from pydantic import BaseModel

from daprshop_contracts.events import Event
from daprshop_platform.ports import ETagMismatch

_ETAG_CODES = (grpc.StatusCode.ABORTED, grpc.StatusCode.FAILED_PRECONDITION)
PublishVia = Literal["outbox", "direct"]


class DaprStateStore:
    """JSON values in one Dapr state store, with first-write-wins concurrency on ETags."""

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


class DaprPublisher:
    """Publishes a service's events to its own topic, as CloudEvents typed by event TYPE.

    `direct` (the default): Dapr's publish API. Safe for the participants, whose triggering
    message is redelivered (or re-invoked) until they answer, and whose inbox then
    re-publishes the recorded outcome; orders' reconciler re-starts a placement whose
    publication a crash lost. `outbox`: a state transaction that records the event; Dapr's
    outbox publishes it once the transaction committed, after a fixed 1 s wait per message
    (`defaultStateScanDelay` in Dapr's pkg/runtime/pubsub/outbox.go, not configurable). It
    holds a single upsert without ETag, so the Redis transaction cannot half-fail."""

    def __init__(
        self, client: DaprClient, pubsub: str, topic: str, store: DaprStateStore, via: PublishVia
    ) -> None:
        self._client, self._pubsub, self._topic = client, pubsub, topic
        self._store, self.via = store, via
        self.transactional = via == "outbox"

    async def publish(self, event: Event) -> None:
        await self.publish_raw(event.TYPE, event.envelope_data())

    async def publish_raw(self, type_: str, data: dict[str, Any]) -> None:
        body = json.dumps(data)
        if self.via == "direct":
            await self._publish(self._topic, type_, body, str(data["message_id"]))
            return
        await self._outbox(
            f"outbox:{data['message_id']}", body, body, type_, {"ttlInSeconds": "86400"}
        )

    async def publish_to(self, topic: str, type_: str, body: BaseModel) -> None:
        await self._publish(topic, type_, body.model_dump_json(), None)

    async def save_and_publish(self, key: str, value: dict[str, Any], event: Event) -> None:
        """Create `key` and publish `event` together. Through the outbox this is one state
        transaction (the event as the outbox projection of the record), so a crash cannot
        keep one without the other; directly, it is a save followed by a publish."""
        if self.via == "direct":
            await self._store.save(key, value)
            await self.publish(event)
            return
        await self._outbox(key, json.dumps(value), json.dumps(event.envelope_data()), event.TYPE)

    async def _publish(self, topic: str, type_: str, body: str, message_id: str | None) -> None:
        metadata = {"cloudevent.type": type_}
        if message_id is not None:
            metadata["cloudevent.id"] = message_id
        await self._client.publish_event(
            self._pubsub,
            topic,
            body,
            data_content_type="application/json",
            publish_metadata=metadata,
        )

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
        await self._client.execute_state_transaction(self._store.name, ops)

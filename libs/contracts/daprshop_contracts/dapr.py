"""Small Dapr helpers shared by the services: the SDK client's lifetime, ETag-checked state."""

import json
from typing import Any

import grpc
from dapr.aio.clients import DaprClient
from dapr.clients.exceptions import DaprInternalError
from dapr.clients.grpc._state import Concurrency, StateOptions

from daprshop_contracts.events import Event

_ETAG_CODES = (grpc.StatusCode.ABORTED, grpc.StatusCode.FAILED_PRECONDITION)


class ETagMismatch(Exception):
    """The state changed since it was read: re-read and decide again."""


class StateStore:
    """JSON values in one Dapr state store, with first-write-wins concurrency on ETags."""

    def __init__(self, client: DaprClient, name: str) -> None:
        self._client, self._name = client, name

    async def get(self, key: str) -> tuple[Any | None, str | None]:
        resp = await self._client.get_state(self._name, key)
        if not resp.data:
            return None, None
        return json.loads(resp.data), resp.etag or None

    async def save(self, key: str, value: Any, etag: str | None = None) -> None:
        """Write `value`; with an `etag`, refuse (ETagMismatch) if the stored one differs."""
        options = StateOptions(concurrency=Concurrency.first_write)
        try:
            await self._client.save_state(
                self._name, key, json.dumps(value), etag=etag, options=options
            )
        except DaprInternalError as err:
            # The aio client wraps the gRPC error; Dapr answers ABORTED on an ETag mismatch.
            cause = err.__cause__
            if isinstance(cause, grpc.aio.AioRpcError) and cause.code() in _ETAG_CODES:
                raise ETagMismatch(f"{key}: {cause.details()}") from err
            raise


async def publish(client: DaprClient, pubsub: str, topic: str, event: Event) -> None:
    """Publish `event` as a CloudEvent whose id and type are the event's own."""
    await client.publish_event(
        pubsub,
        topic,
        event.model_dump_json(),
        data_content_type="application/json",
        publish_metadata={"cloudevent.id": event.message_id, "cloudevent.type": event.TYPE},
    )

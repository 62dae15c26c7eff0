"""The ports a service does I/O through, as Protocols: the Dapr adapters implement them in
production, in-memory fakes in unit tests."""

from dataclasses import dataclass
from typing import Any, Protocol

from pydantic import BaseModel

from daprshop_contracts.events import Event


class ETagMismatch(Exception):
    """The state changed since it was read: re-read and decide again."""


class StateStore(Protocol):
    """JSON values by key, first-write-wins on ETags: `save` with an etag writes only over
    that version; without one, only if the key does not exist yet (else ETagMismatch)."""

    async def get(self, key: str) -> tuple[Any | None, str | None]: ...
    async def get_many(self, keys: list[str]) -> dict[str, Any]: ...
    async def save(self, key: str, value: Any, etag: str | None = None) -> None: ...


class Publisher(Protocol):
    """Publishes a service's events to its own topic, as CloudEvents typed by event TYPE.
    `transactional`: whether `save_and_publish` writes the record and the event in one
    transaction (the outbox); otherwise it saves, then publishes, and a crash in between
    leaves the record without its event (orders' reconciler covers placement)."""

    transactional: bool

    async def publish(self, event: Event) -> None: ...
    async def publish_raw(self, type_: str, data: dict[str, Any]) -> None: ...
    async def save_and_publish(self, key: str, value: dict[str, Any], event: Event) -> None: ...
    async def publish_to(self, topic: str, type_: str, body: BaseModel) -> None: ...


class Invoker(Protocol):
    """Service invocation: the callee's HTTP status and JSON body."""

    async def call(
        self, app_id: str, method: str, payload: Any = None, verb: str = "POST"
    ) -> tuple[int, Any]: ...


class SecretUnavailable(Exception):
    """The secret store could not be read, or does not hold the secret (the message names
    the store and the secret, never a value)."""


class Secrets(Protocol):
    """Named secrets of the stack's secret store; SecretUnavailable when it cannot answer."""

    async def get(self, name: str) -> str: ...


@dataclass(frozen=True)
class WorkflowView:
    """A workflow instance as the engine reports it."""

    instance_id: str
    runtime_status: str
    created_at: str | None = None
    last_updated_at: str | None = None
    output: str | None = None
    failure: str | None = None


class Workflows(Protocol):
    """Starting, signalling and operating workflow instances."""

    async def start(self, workflow: str, instance_id: str, input: BaseModel) -> None:
        """Start an instance; starting one that exists already is a no-op."""

    async def raise_event(self, instance_id: str, name: str, data: BaseModel) -> bool:
        """Deliver an external event; False if no such instance (it ended, or was purged)."""

    async def state(self, instance_id: str) -> WorkflowView | None: ...
    async def wait(self, instance_id: str, timeout_s: float) -> WorkflowView | None: ...
    async def terminate(self, instance_id: str, output: Any) -> None: ...
    async def purge(self, instance_id: str) -> None: ...

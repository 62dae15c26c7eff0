"""Versioned event payloads. The CloudEvents envelope is Dapr's; `type` names the model."""

import uuid
from datetime import UTC, datetime
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field


class Event(BaseModel):
    """Base of every event: ids for deduplication and tracing, frozen once built."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    TYPE: ClassVar[str]

    message_id: str = Field(default_factory=lambda: uuid.uuid4().hex)
    occurred_at: datetime = Field(default_factory=lambda: datetime.now(UTC))


class Pinged(Event):
    """A wiring check: orders publishes it; each participant records that it arrived."""

    TYPE: ClassVar[str] = "diagnostics.Pinged.v1"

    ping_id: str
    sender: str


class CloudEvent(BaseModel):
    """The part of Dapr's CloudEvents envelope a subscriber reads; `data` is the payload."""

    model_config = ConfigDict(extra="ignore")

    id: str
    type: str
    source: str = ""
    topic: str = ""
    traceparent: str | None = None
    data: dict[str, object]

"""What a participant's pure step function returns, and the inbox its record carries. Pure
data (pydantic, the contracts): a domain module may import this and nothing else of the
platform."""

from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict

from daprshop_contracts.events import Event


class InboxEntry(BaseModel):
    """The recorded outcome of one `order_id:step:action`: its event, or a refusal."""

    model_config = ConfigDict(frozen=True)
    type: str | None = None
    data: dict[str, Any] | None = None
    refused: str | None = None


class InboxRecord(BaseModel):
    """A participant's per-order record: its effect and, in the same single-key write, the
    inbox of the commands already applied to it."""

    inbox: dict[str, InboxEntry] = {}


R = TypeVar("R", bound=InboxRecord)


@dataclass(frozen=True)
class Decision(Generic[R]):
    """What a pure step function decided: the new record and the event to publish, or a
    refusal (a forward step arriving after its compensation)."""

    record: R
    event: Event | None = None
    refused: str | None = None

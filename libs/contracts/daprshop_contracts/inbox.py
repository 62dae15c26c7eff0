"""Run a participant's step at most once per `order_id:step:action`.

The inbox entry is stored in the same single-key, ETag-guarded write as the effect, so a
redelivered or re-invoked command finds its entry and gets the recorded outcome back (and
re-published, in case the first publication was lost) instead of a second effect.
"""

import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from daprshop_contracts.dapr import NO_WRITE, Publisher, update
from daprshop_contracts.events import Event
from daprshop_contracts.service import Ctx


@dataclass(frozen=True)
class Decision:
    """What a pure step function decided: the new record and the event to publish, or a
    refusal (a forward step arriving after its compensation)."""

    record: dict[str, Any]
    event: Event | None = None
    refused: str | None = None


@dataclass(frozen=True)
class Outcome:
    event_type: str | None
    event: dict[str, Any] | None
    refused: str | None = None
    duplicate: bool = False

    def public(self) -> dict[str, Any]:
        return {
            "event_type": self.event_type,
            "event": self.event,
            "refused": self.refused,
            "duplicate": self.duplicate,
        }


def inbox_key(order_id: str, step: str, action: str) -> str:
    return f"{order_id}:{step}:{action}"


def recorded(record: dict[str, Any] | None, key: str) -> Outcome | None:
    entry = (record or {}).get("inbox", {}).get(key)
    if entry is None:
        return None
    return Outcome(entry.get("type"), entry.get("data"), entry.get("refused"), duplicate=True)


def with_entry(
    record: dict[str, Any], previous: dict[str, Any] | None, key: str, decision: Decision
) -> dict[str, Any]:
    entry: dict[str, Any] = (
        {"type": decision.event.TYPE, "data": decision.event.envelope_data()}
        if decision.event is not None
        else {"refused": decision.refused}
    )
    return {**record, "inbox": {**(previous or {}).get("inbox", {}), key: entry}}


async def republish(publisher: Publisher, outcome: Outcome) -> None:
    if outcome.event_type and outcome.event:
        await publisher.publish_raw(outcome.event_type, outcome.event)


async def run_once(
    c: Ctx,
    key: str,
    entry_key: str,
    decide: Callable[[dict[str, Any] | None], Decision | Awaitable[Decision]],
    *,
    publish: bool = True,
) -> Outcome:
    """Apply `decide` to the record at `key` unless `entry_key` is already in its inbox.
    `decide` may be async (inventory holds stock while deciding); it must be idempotent,
    since an ETag conflict makes it run again on the fresh record. `publish`: whether the
    outcome is also published (see saga.publishes); the caller gets it back either way."""

    async def change(record: dict[str, Any] | None) -> tuple[Any, Outcome | Decision]:
        if (done := recorded(record, entry_key)) is not None:
            return NO_WRITE, done
        decided = decide(record)
        decision = await decided if inspect.isawaitable(decided) else decided
        return with_entry(decision.record, record, entry_key, decision), decision

    result = await update(c.store, c.locks, key, change, c.stats)
    if isinstance(result, Outcome):  # a duplicate: the recorded outcome, published again
        c.stats["duplicates"] += 1
        if publish:
            await republish(c.publisher, result)
        return result
    c.stats["refused" if result.refused else "applied"] += 1
    event = result.event
    if event is not None and publish:
        await c.publisher.publish(event)
    return Outcome(
        event.TYPE if event else None, event.envelope_data() if event else None, result.refused
    )

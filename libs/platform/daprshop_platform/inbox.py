"""Run a participant's step at most once per `order_id:step:action`.

The inbox entry is stored in the same single-key, ETag-guarded write as the effect, so a
redelivered or re-invoked command finds its entry and gets the recorded outcome back (to be
re-published, in case the first publication was lost) instead of a second effect.
"""

import inspect
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from pydantic import BaseModel

from daprshop_contracts.commands import Command
from daprshop_platform.decision import Decision, InboxEntry, InboxRecord
from daprshop_platform.index import register
from daprshop_platform.service import Platform
from daprshop_platform.state import update_model

R = TypeVar("R", bound=InboxRecord)


class Outcome(BaseModel):
    """A step's outcome as its caller sees it: the event (type and envelope data), or why
    it was refused; `duplicate` when it was recorded by an earlier delivery."""

    event_type: str | None = None
    event: dict[str, Any] | None = None
    refused: str | None = None
    duplicate: bool = False


def inbox_key(order_id: str, step: str, action: str) -> str:
    return f"{order_id}:{step}:{action}"


def _entry(decision: Decision[Any]) -> InboxEntry:
    if decision.event is None:
        return InboxEntry(refused=decision.refused)
    return InboxEntry(type=decision.event.TYPE, data=decision.event.envelope_data())


async def run_once(
    platform: Platform,
    key: str,
    cmd: Command,
    record_type: type[R],
    decide: Callable[[R | None], Decision[R] | Awaitable[Decision[R]]],
) -> Outcome:
    """Apply `decide` to the record at `key` unless `cmd` is already in its inbox. `decide`
    may be async (inventory holds stock while deciding); it must be idempotent, since an
    ETag conflict makes it run again on the fresh record."""
    step, action = platform.saga.by_command(type(cmd))
    entry_key = inbox_key(cmd.order_id, step.name, action)

    async def change(record: R | None) -> tuple[R | None, Outcome]:
        if record is not None and (done := record.inbox.get(entry_key)) is not None:
            return None, Outcome(
                event_type=done.type, event=done.data, refused=done.refused, duplicate=True
            )
        decided = decide(record)
        decision = await decided if inspect.isawaitable(decided) else decided
        entry = _entry(decision)
        inbox = {**(record.inbox if record else {}), entry_key: entry}
        new = decision.record.model_copy(update={"inbox": inbox})
        return new, Outcome(event_type=entry.type, event=entry.data, refused=entry.refused)

    await register(platform, key)  # before the record exists, so listing finds every record
    outcome = await update_model(
        platform.store, platform.locks, key, record_type, change, platform.stats
    )
    platform.stats[
        "duplicates" if outcome.duplicate else "refused" if outcome.refused else "applied"
    ] += 1
    return outcome

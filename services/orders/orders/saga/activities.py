"""Workflow activities: the I/O of the orchestrated saga. Each calls one participant's
command endpoint by service invocation and records the outcome on the order's timeline;
both are idempotent, so a retried activity changes nothing twice."""

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

import dapr.ext.workflow as wf

from daprshop_contracts.events import Mode, SagaStopped, parse_event
from daprshop_contracts.service import Ctx
from orders.saga import tracker

T = TypeVar("T")


class ParticipantUnavailable(Exception):
    """A technical failure (5xx, time-out, participant down): the RetryPolicy retries it."""


async def on_app_loop(c: Ctx, work: Coroutine[Any, Any, T]) -> T:
    """The workflow worker runs activities on its own event loop; the app's clients and
    locks belong to the app's loop, so the work is handed over to that loop."""
    app_loop: asyncio.AbstractEventLoop = c.extra["loop"]
    if asyncio.get_running_loop() is app_loop:
        return await work
    return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(work, app_loop))


def stop_saga_activity(c: Ctx) -> Any:
    async def stop_saga(_ctx: wf.WorkflowActivityContext | None, req: dict[str, Any]) -> bool:
        stopped = SagaStopped(
            order_id=req["order_id"], mode=Mode(req["mode"]), reason=req["reason"]
        )
        return await on_app_loop(c, tracker.record(stopped, c))

    return stop_saga


def call_participant_activity(c: Ctx) -> Any:
    async def call_participant(
        _ctx: wf.WorkflowActivityContext | None, req: dict[str, Any]
    ) -> dict[str, Any]:
        return await on_app_loop(c, _call(req))

    async def _call(req: dict[str, Any]) -> dict[str, Any]:
        try:
            status, body = await c.invoker.call(
                req["participant"], f"commands/{req['command']}", req["payload"]
            )
        except (OSError, TimeoutError) as err:
            raise ParticipantUnavailable(f"{req['participant']}: {err!r}") from err
        if status == 409:
            return {"refused": body.get("detail") if isinstance(body, dict) else str(body)}
        if status != 200:
            raise ParticipantUnavailable(f"{req['participant']} answered {status}: {body}")
        if body.get("event_type"):
            await tracker.record(parse_event(body["event_type"], body["event"]), c)
        return {"event_type": body.get("event_type"), "event": body.get("event")}

    return call_participant

"""Workflow activities: the I/O of the orchestrated saga, each idempotent, so a retried
activity changes nothing twice. The worker runs activities on its own event loop; the app's
clients and locks belong to the app's loop, so the work is handed over to that loop."""

import asyncio
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

import dapr.ext.workflow as wf

from daprshop_contracts.events import Event, SagaCompleted, SagaStopped
from daprshop_contracts.saga import Status
from daprshop_platform.inbox import Outcome
from orders.deps import OrdersDeps
from orders.saga import tracker
from orders.saga.invocation import invoke_step
from orders.saga.models import StepCall, Verdict

T = TypeVar("T")


async def on_app_loop(loop: asyncio.AbstractEventLoop, work: Coroutine[Any, Any, T]) -> T:
    if asyncio.get_running_loop() is loop:
        return await work
    return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(work, loop))


def call_participant(
    deps: OrdersDeps,
) -> Callable[[wf.WorkflowActivityContext, StepCall], Awaitable[Outcome]]:
    async def call_participant(_ctx: wf.WorkflowActivityContext, call: StepCall) -> Outcome:
        return await on_app_loop(deps.platform.loop, invoke_step(deps, call))

    return call_participant


def record_verdict(
    deps: OrdersDeps,
) -> Callable[[wf.WorkflowActivityContext, Verdict], Awaitable[bool]]:
    """Record the workflow's decision on the order: SagaCompleted, or SagaStopped(reason)."""

    async def record_verdict(_ctx: wf.WorkflowActivityContext, verdict: Verdict) -> bool:
        event: Event = (
            SagaCompleted(order_id=verdict.order_id, mode=verdict.mode)
            if verdict.status is Status.COMPLETED
            else SagaStopped(
                order_id=verdict.order_id, mode=verdict.mode, reason=verdict.reason or ""
            )
        )
        return await on_app_loop(deps.platform.loop, tracker.record(event, deps))

    return record_verdict

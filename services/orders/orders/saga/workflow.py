"""The orchestrated order saga, a Dapr Workflow. Deterministic and I/O-free: it reads a saga
definition, asks an activity to run each step by service invocation, and on a business
failure runs the compensations of the steps that succeeded, in reverse order.

In hybrid mode it invokes the steps before the definition's hand-off point, then waits for
the outcomes of the steps that follow by choreography (orders raises them), however many
there are: all succeeded -> COMPLETED; one failed -> compensate the steps before it; time-out
-> stop the saga and compensate every step. The workflow alone decides: it records its
verdict on the order (SagaCompleted or SagaStopped) before anything else, and the order is
COMPLETED only by that verdict, so an outcome that loses the race with the timer cannot show
a COMPLETED order that is then compensated.

Technical failures are retried by the activity RetryPolicy; if they outlast it, the step is
retried again after a durable timer, so a technical failure never becomes a business outcome.
"""

import logging
from collections.abc import Callable, Generator
from datetime import timedelta
from typing import Any

import dapr.ext.workflow as wf

from daprshop_contracts.saga import Action, Saga, Status, Step
from daprshop_platform.inbox import Outcome
from orders.saga.models import SagaInput, SagaResult, Verdict, step_call

log = logging.getLogger("daprshop.saga")
ACTIVITY = "call_participant"
VERDICT_ACTIVITY = "record_verdict"
OUTCOME_EVENT = "choreography_outcome"
RETRY = wf.RetryPolicy(
    first_retry_interval=timedelta(milliseconds=500),
    backoff_coefficient=2.0,
    max_number_of_attempts=6,
    max_retry_interval=timedelta(seconds=5),
)
PAUSE_AFTER_RETRIES = timedelta(seconds=5)  # then the breaker (5 s) lets a call through

Flow = Generator[Any, Any, Any]
Workflow = Callable[[wf.DaprWorkflowContext, SagaInput], Flow]


def saga_workflow(saga: Saga) -> Workflow:
    """The workflow function that runs `saga` (any number of steps, any hand-off point)."""

    def run_step(ctx: wf.DaprWorkflowContext, order: SagaInput, step: Step, action: Action) -> Flow:
        """One step by invocation, retried until it answers; returns its outcome."""
        while True:
            try:
                result = yield ctx.call_activity(
                    ACTIVITY, input=step_call(order, step.name, action), retry_policy=RETRY
                )
                return Outcome.model_validate(result)
            except wf.TaskFailedError:
                yield ctx.create_timer(PAUSE_AFTER_RETRIES)

    def compensate(ctx: wf.DaprWorkflowContext, order: SagaInput, failed_index: int) -> Flow:
        undo = saga.compensations_for(failed_index)
        if not ctx.is_replaying:  # a replay re-runs this code; log each decision once
            log.info("order %s: compensating %s", order.order_id, [s.name for s in undo])
        for step in undo:
            yield from run_step(ctx, order, step, "compensate")

    def record_verdict(ctx: wf.DaprWorkflowContext, order: SagaInput, result: SagaResult) -> Flow:
        verdict = Verdict(
            order_id=order.order_id, mode=order.mode, status=result.status, reason=result.reason
        )
        yield ctx.call_activity(VERDICT_ACTIVITY, input=verdict, retry_policy=RETRY)

    def await_choreography(ctx: wf.DaprWorkflowContext, order: SagaInput, first: int) -> Flow:
        """Steps [first, end) run by events; orders raises each outcome to this instance."""
        pending = {step.name for step in saga.steps[first:]}
        timer = ctx.create_timer(timedelta(seconds=order.timeout_s))
        while pending:
            outcome_task = ctx.wait_for_external_event(OUTCOME_EVENT)
            winner = yield wf.when_any([outcome_task, timer])
            if winner is timer:
                result = SagaResult(status=Status.CANCELLED, reason="timed_out")
                yield from record_verdict(ctx, order, result)
                yield from compensate(ctx, order, len(saga.steps))  # a late step is undone too
                return result
            found = saga.by_event(
                Outcome.model_validate(outcome_task.get_result()).event_type or ""
            )
            if found is None:
                continue
            step, kind = found
            if kind == "failed":
                yield from compensate(ctx, order, saga.index(step))
                return SagaResult(status=Status.CANCELLED, reason=step.reason)
            if kind == "succeeded":
                pending.discard(step.name)
        result = SagaResult(status=Status.COMPLETED)
        yield from record_verdict(ctx, order, result)
        return result

    def order_saga(ctx: wf.DaprWorkflowContext, order: SagaInput) -> Flow:
        plan = saga.coordination(order.mode)
        for index, step in enumerate(saga.steps[: plan.first_by_events]):
            outcome = yield from run_step(ctx, order, step, "forward")
            if outcome.refused or outcome.event_type == step.failed.TYPE:
                yield from compensate(ctx, order, index)
                return SagaResult(status=Status.CANCELLED, reason=step.reason)
        if plan.first_by_events < len(saga.steps):
            return (yield from await_choreography(ctx, order, plan.first_by_events))
        return SagaResult(status=Status.COMPLETED)

    return order_saga

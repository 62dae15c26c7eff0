"""The orchestrated order saga, a Dapr Workflow. Deterministic and I/O-free: it reads the
saga definition, asks activities to run each step by service invocation, and on a business
failure runs the compensations of the steps that succeeded, in reverse order.

Technical failures are retried by the activity RetryPolicy; if they outlast it, the step is
retried again after a durable timer, so a technical failure never becomes a business outcome.
An operator can terminate a workflow that should stop (orders API).
"""

import logging
from collections.abc import Generator
from datetime import timedelta
from typing import Any

import dapr.ext.workflow as wf

from daprshop_contracts.events import Mode
from daprshop_contracts.saga import HYBRID_HANDOFF, SAGA, Step, compensations_for

log = logging.getLogger("daprshop.saga")
ACTIVITY = "call_participant"
STOP_ACTIVITY = "stop_saga"
OUTCOME_EVENT = "choreography_outcome"
RETRY = wf.RetryPolicy(
    first_retry_interval=timedelta(milliseconds=500),
    backoff_coefficient=2.0,
    max_number_of_attempts=6,
    max_retry_interval=timedelta(seconds=5),
)
PAUSE_AFTER_RETRIES = timedelta(seconds=15)

Saga = Generator[Any, Any, Any]


def call(step: Step, action: str, order: dict[str, Any]) -> dict[str, Any]:
    """The activity input for one step: which participant, which command, what payload."""
    command = step.command if action == "forward" else step.compensation
    payload: dict[str, Any] = {
        "order_id": order["order_id"],
        "mode": order["mode"],
        "causation_id": f"{order['order_id']}:workflow",
    }
    if action == "forward":
        payload["order"] = order["order"]
    return {
        "participant": step.participant,
        "command": command,
        "step": step.name,
        "action": action,
        "payload": payload,
    }


def run_step(ctx: wf.DaprWorkflowContext, step: Step, action: str, order: dict[str, Any]) -> Saga:
    """One step by invocation, retried until it answers; returns its outcome."""
    while True:
        try:
            return (
                yield ctx.call_activity(
                    ACTIVITY, input=call(step, action, order), retry_policy=RETRY
                )
            )
        except wf.TaskFailedError:
            yield ctx.create_timer(PAUSE_AFTER_RETRIES)


def compensate(ctx: wf.DaprWorkflowContext, steps: tuple[Step, ...], order: dict[str, Any]) -> Saga:
    for step in steps:
        yield from run_step(ctx, step, "compensate", order)


def order_saga(ctx: wf.DaprWorkflowContext, order: dict[str, Any]) -> Saga:
    """Input: {"order_id", "mode", "order": OrderContext, "timeout_s"}. Output: the final
    status and reason (the order's own status is derived from its recorded events)."""
    hybrid = order["mode"] == Mode.HYBRID.value
    for index, step in enumerate(SAGA[: HYBRID_HANDOFF if hybrid else len(SAGA)]):
        outcome = yield from run_step(ctx, step, "forward", order)
        if outcome.get("refused") or outcome.get("event_type") == step.failed.TYPE:
            undo = compensations_for(index)
            if not ctx.is_replaying:  # a replay re-runs this code; log each decision once
                log.info(
                    "order %s: %s failed, compensating %s",
                    order["order_id"],
                    step.name,
                    [s.name for s in undo],
                )
            yield from compensate(ctx, undo, order)
            return {"status": "CANCELLED", "reason": step.reason}
    if hybrid:
        return (yield from await_choreography(ctx, order))
    return {"status": "COMPLETED", "reason": None}


def await_choreography(ctx: wf.DaprWorkflowContext, order: dict[str, Any]) -> Saga:
    """Hybrid: the rest of the saga runs by events; orders raises its outcome to this
    instance. On failure or time-out, compensate by invocation; a time-out also cancels the
    handed-over step, so a shipment scheduled after it does not survive."""
    step = SAGA[HYBRID_HANDOFF]
    outcome_task = ctx.wait_for_external_event(OUTCOME_EVENT)
    timer = ctx.create_timer(timedelta(seconds=float(order.get("timeout_s", 30))))
    winner = yield wf.when_any([outcome_task, timer])
    if winner is timer:
        yield ctx.call_activity(
            STOP_ACTIVITY,
            input={"order_id": order["order_id"], "mode": order["mode"], "reason": "timed_out"},
            retry_policy=RETRY,
        )
        yield from compensate(ctx, compensations_for(HYBRID_HANDOFF + 1), order)
        return {"status": "CANCELLED", "reason": "timed_out"}
    outcome = outcome_task.get_result()
    if outcome.get("event_type") == step.failed.TYPE:
        yield from compensate(ctx, compensations_for(HYBRID_HANDOFF), order)
        return {"status": "CANCELLED", "reason": step.reason}
    return {"status": "COMPLETED", "reason": None}

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
from daprshop_contracts.saga import HYBRID_HANDOFF, SAGA, Step

log = logging.getLogger("daprshop.saga")
ACTIVITY = "call_participant"
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


def compensate(ctx: wf.DaprWorkflowContext, done: list[Step], order: dict[str, Any]) -> Saga:
    for step in reversed(done):
        yield from run_step(ctx, step, "compensate", order)


def order_saga(ctx: wf.DaprWorkflowContext, order: dict[str, Any]) -> Saga:
    """Input: {"order_id", "mode", "order": OrderContext}. Output: final status and reason."""
    last = len(SAGA) if order["mode"] == Mode.ORCHESTRATION.value else HYBRID_HANDOFF
    done: list[Step] = []
    for step in SAGA[:last]:
        outcome = yield from run_step(ctx, step, "forward", order)
        if outcome.get("refused") or outcome.get("event_type") == step.failed.TYPE:
            if not ctx.is_replaying:  # a replay re-runs this code; log each decision once
                log.info(
                    "order %s: %s failed, compensating %s",
                    order["order_id"],
                    step.name,
                    [s.name for s in reversed(done)],
                )
            yield from compensate(ctx, done, order)
            return {"status": "CANCELLED", "reason": step.reason}
        done.append(step)
    return {"status": "COMPLETED", "reason": None}

"""Running one saga step by service invocation: build its command from the saga definition,
call the participant's `POST /commands/<Command>`, record the outcome on the order's
timeline. Used by the workflow's activity and by operator actions alike."""

from daprshop_contracts.events import parse_event
from daprshop_platform.inbox import Outcome
from orders.deps import OrdersDeps
from orders.saga import tracker
from orders.saga.models import StepCall


class ParticipantUnavailable(Exception):
    """A technical failure (5xx, time-out, participant down): the RetryPolicy retries it."""


async def invoke_step(deps: OrdersDeps, call: StepCall) -> Outcome:
    step = deps.saga.step_named(call.step)
    cmd = deps.saga.command(
        step,
        call.action,
        order_id=call.order_id,
        mode=call.mode,
        order=call.order,
        caused_by=f"workflow:{call.order_id}",
    )
    method = f"commands/{type(cmd).__name__}"
    try:
        status, body = await deps.platform.invoker.call(
            step.participant, method, cmd.model_dump(mode="json")
        )
    except (OSError, TimeoutError) as err:
        raise ParticipantUnavailable(f"{step.participant}: {err!r}") from err
    if status == 409:
        return Outcome(refused=body.get("detail") if isinstance(body, dict) else str(body))
    if status != 200:
        raise ParticipantUnavailable(f"{step.participant} answered {status}: {body}")
    outcome = Outcome.model_validate(body)
    if outcome.event_type and outcome.event:
        await tracker.record(parse_event(outcome.event_type, outcome.event), deps)
    return Outcome(event_type=outcome.event_type, event=outcome.event)

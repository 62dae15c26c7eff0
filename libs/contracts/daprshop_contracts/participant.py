"""Wires a saga participant's step handlers to both entry points: a pub/sub subscription
per producing topic (choreography) and the invocation endpoints the orchestrator calls."""

from collections.abc import Awaitable, Callable, Mapping

from dapr.ext.fastapi import DaprApp
from fastapi import HTTPException

from daprshop_contracts import topics
from daprshop_contracts.events import Event, Message
from daprshop_contracts.inbox import Outcome
from daprshop_contracts.saga import choreography_routes, to_command
from daprshop_contracts.service import Ctx, EventHandler, subscribe
from daprshop_contracts.settings import ServiceSettings

StepHandler = Callable[[Message, Ctx], Awaitable[Outcome]]


def route_events(
    dapr_app: DaprApp, settings: ServiceSettings, handlers: Mapping[str, StepHandler]
) -> None:
    """Subscribe this participant to the events the saga definition routes to it."""
    by_topic: dict[str, dict[str, EventHandler]] = {}
    for event_type, (step, action) in choreography_routes(settings.app_id).items():
        name = step.command if action == "forward" else step.compensation

        async def handle(event: Event, c: Ctx, step=step, action=action, name=name) -> None:  # type: ignore[no-untyped-def]
            await handlers[name](to_command(step, action, event), c)

        topic = topics.BY_PRODUCER[topics.producer_of(event_type)]
        by_topic.setdefault(topic, {})[event_type] = handle
    for topic, table in by_topic.items():
        subscribe(dapr_app, settings, topic, table)


def answer(outcome: Outcome) -> dict[str, object]:
    """An invocation endpoint's reply: the outcome event, or 409 if the step was refused."""
    if outcome.refused:
        raise HTTPException(409, outcome.refused)
    return outcome.public()

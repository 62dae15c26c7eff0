"""The saga participant app factory. From one typed table of step handlers it mounts each
command twice on one handler: `POST /commands/<Command>` (service invocation, used by the
workflow) and the subscriptions the saga definition routes to this participant
(choreography). The coordination policy of the saga definition is applied here, so
handlers never see the mode: whether a step runs from an event, and whether its outcome is
published."""

import inspect
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from dapr.ext.fastapi import DaprApp
from fastapi import APIRouter, FastAPI, HTTPException, Request

from daprshop_contracts import topics
from daprshop_contracts.commands import Command
from daprshop_contracts.events import Event, OrderEvent
from daprshop_contracts.saga import ORDER_SAGA, Action, Step
from daprshop_platform.faults import FaultPlan
from daprshop_platform.inbox import Outcome
from daprshop_platform.service import (
    ADMIN_RESPONSES,
    AdminDep,
    Lifecycle,
    Platform,
    PlatformDep,
    provider,
    service_app,
)
from daprshop_platform.settings import ServiceSettings
from daprshop_platform.subscriptions import EventHandler, ping_inbox, subscribe


class HasPlatform(Protocol):
    @property
    def platform(self) -> Platform: ...


C = TypeVar("C", bound=Command)
D = TypeVar("D", bound=HasPlatform)


@dataclass(frozen=True)
class StepHandler(Generic[D]):
    command: type[Command]
    run: Callable[[Any, D], Awaitable[Outcome]]
    summary: str


def handles(
    command: type[C], run: Callable[[C, D], Awaitable[Outcome]], summary: str
) -> StepHandler[D]:
    """One row of a participant's table: `run` executes `command` (type-checked here)."""
    return StepHandler(command, run, summary)


async def execute(entry: StepHandler[D], cmd: Command, deps: D) -> Outcome:
    """Run a step handler under the fault plan (empty unless injected), and publish its
    outcome (also a recorded one, in case its first publication was lost) if the saga's
    coordination of this mode wants it published."""
    platform = deps.platform
    step, _ = platform.saga.by_command(type(cmd))
    publish = platform.saga.coordination(cmd.mode).publishes(platform.saga.index(step))

    async def run() -> Outcome:
        return await entry.run(cmd, deps)

    async def published(outcome: Outcome) -> None:
        if outcome.event_type and outcome.event:
            await platform.publisher.publish_raw(outcome.event_type, outcome.event)

    return await platform.faults.around(entry.command.__name__, run, published if publish else None)


def _mount_command(app: FastAPI, entry: StepHandler[D], deps_of: Callable[[Request], D]) -> None:
    async def endpoint(cmd: Command, request: Request) -> dict[str, Any]:
        outcome = await execute(entry, cmd, deps_of(request))
        if outcome.refused:
            raise HTTPException(409, outcome.refused)
        return outcome.model_dump()

    # FastAPI reads the body model from the signature: this row's command class.
    endpoint.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [
            inspect.Parameter(
                "cmd", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=entry.command
            ),
            inspect.Parameter(
                "request", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=Request
            ),
        ]
    )
    app.post(
        f"/commands/{entry.command.__name__}",
        tags=["commands"],
        summary=entry.summary,
        responses={
            409: {"description": "Refused: a compensation for this order already ran"},
            422: {"description": "The command does not match its contract, field by field"},
        },
    )(endpoint)


def _event_handler(step: Step, action: Action, entry: StepHandler[D]) -> EventHandler[D]:
    async def handle(event: Event, deps: D) -> None:
        saga = deps.platform.saga
        plan = saga.coordination(event.mode)
        by_events = (
            plan.by_events(saga.index(step))
            if action == "forward"
            else plan.compensates_by_events()
        )
        if not by_events:  # this mode runs the step by invocation
            deps.platform.stats["ignored_other_mode"] += 1
            return
        cmd = saga.command(
            step,
            action,
            order_id=event.order_id,
            mode=event.mode,
            order=event.order if isinstance(event, OrderEvent) else None,
            caused_by=event.message_id,
        )
        await execute(entry, cmd, deps)

    return handle


def _route_events(
    dapr_app: DaprApp,
    settings: ServiceSettings,
    routes: dict[str, tuple[Step, Action]],
    table: dict[type[Command], StepHandler[D]],
    deps_of: Callable[[Request], D],
) -> None:
    by_topic: dict[str, dict[str, EventHandler[D]]] = {}
    for event_type, (step, action) in routes.items():
        topic = topics.topic_of(topics.producer_of(event_type))
        entry = table[step.command_class(action)]
        by_topic.setdefault(topic, {})[event_type] = _event_handler(step, action, entry)
    for topic, handlers in by_topic.items():
        subscribe(dapr_app, settings, topic, handlers, deps_of)


def mount_faults() -> APIRouter:
    """`PUT /admin/faults` replaces the running fault plan; `GET` shows it (admin token)."""
    router = APIRouter(tags=["admin"])

    @router.put(
        "/admin/faults",
        dependencies=[AdminDep],
        responses=ADMIN_RESPONSES,
        summary="Replace this participant's fault plan (empty object: no faults)",
    )
    async def put_faults(plan: FaultPlan, platform: PlatformDep) -> FaultPlan:
        platform.faults = plan
        return plan

    @router.get(
        "/admin/faults",
        dependencies=[AdminDep],
        responses=ADMIN_RESPONSES,
        summary="This participant's fault plan",
    )
    async def get_faults(platform: PlatformDep) -> FaultPlan:
        return platform.faults

    return router


def participant_app(
    settings: ServiceSettings,
    lifecycle: Lifecycle[D],
    *,
    deps: type[D],
    steps: Sequence[StepHandler[D]],
    router: APIRouter,
    title: str,
    description: str,
) -> FastAPI:
    """A saga participant: the service shell, its own routes, fault injection, and every
    command of the saga it takes part in, by invocation and by subscription."""
    table = {entry.command: entry for entry in steps}
    expected = set(ORDER_SAGA.commands_of(settings.app_id))
    if set(table) != expected:
        names = sorted(c.__name__ for c in expected ^ set(table))
        raise ValueError(f"{settings.app_id}: step table and saga disagree on {names}")
    app, dapr_app = service_app(settings, lifecycle, title=title, description=description)
    deps_of = provider(deps)
    for entry in steps:
        _mount_command(app, entry, deps_of)
    _route_events(dapr_app, settings, ORDER_SAGA.routes(settings.app_id), table, deps_of)
    app.include_router(router)
    app.include_router(mount_faults())
    app.include_router(ping_inbox(dapr_app, settings))
    return app

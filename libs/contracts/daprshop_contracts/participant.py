"""Wires a saga participant's step handlers to both entry points: a pub/sub subscription
per producing topic (choreography) and the invocation endpoints the orchestrator calls."""

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from dapr.ext.fastapi import DaprApp
from fastapi import APIRouter, FastAPI, HTTPException
from pydantic import BaseModel, Field

from daprshop_contracts import topics
from daprshop_contracts.events import Event, Message
from daprshop_contracts.faults import FaultPlan
from daprshop_contracts.inbox import Outcome
from daprshop_contracts.saga import by_events, choreography_routes, to_command
from daprshop_contracts.service import (
    AdminDep,
    Ctx,
    CtxDep,
    EventHandler,
    Hook,
    service_app,
    subscribe,
)
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
            if not by_events(step, event.mode):  # this mode runs the step by invocation
                c.stats["ignored_other_mode"] += 1
                return
            cmd = to_command(step, action, event)
            await execute(handlers[name], name, cmd, c)

        topic = topics.BY_PRODUCER[topics.producer_of(event_type)]
        by_topic.setdefault(topic, {})[event_type] = handle
    for topic, table in by_topic.items():
        subscribe(dapr_app, settings, topic, table)


async def execute(handler: StepHandler, name: str, cmd: Message, c: Ctx) -> Outcome:
    """Run a step handler under the participant's fault plan (empty unless injected)."""
    plan: FaultPlan = c.extra.setdefault("faults", FaultPlan.from_env())
    return await plan.around(name, lambda: handler(cmd, c))


def mount_faults(app: FastAPI) -> None:
    @app.put(
        "/admin/faults",
        tags=["admin"],
        dependencies=[AdminDep],
        summary="Replace this participant's fault plan (empty object: no faults)",
    )
    async def put_faults(plan: FaultPlan, c: CtxDep) -> FaultPlan:
        c.extra["faults"] = plan
        return plan

    @app.get("/admin/faults", tags=["admin"], summary="This participant's fault plan")
    async def get_faults(c: CtxDep) -> FaultPlan:
        return c.extra.setdefault("faults", FaultPlan.from_env())  # type: ignore[no-any-return]


def answer(outcome: Outcome) -> dict[str, object]:
    """An invocation endpoint's reply: the outcome event, or 409 if the step was refused."""
    if outcome.refused:
        raise HTTPException(409, outcome.refused)
    return outcome.public()


class Lookup(BaseModel):
    order_ids: list[str] = Field(max_length=1000)


def audit_routes(router: APIRouter, path: str, key: Callable[[str], str], noun: str) -> None:
    """Read-only views of a participant's per-order records: one (with its inbox), or many
    at once without inboxes (for `daprshop verify`)."""

    @router.get(f"/{path}/{{order_id}}", tags=["audit"], summary=f"The {noun} of one order")
    async def one(order_id: str, c: CtxDep) -> dict[str, Any]:
        record, _ = await c.store.get(key(order_id))
        if record is None:
            raise HTTPException(404, f"no {noun} for order {order_id!r}")
        return dict(record)

    @router.post(
        f"/{path}/lookup",
        tags=["audit"],
        summary=f"Many orders' {noun} records at once (read-only)",
    )
    async def many(req: Lookup, c: CtxDep) -> dict[str, Any]:
        found = await c.store.get_many([key(oid) for oid in req.order_ids])
        return {r["order_id"]: {k: v for k, v in r.items() if k != "inbox"} for r in found.values()}


def participant_app(
    settings: ServiceSettings,
    *,
    title: str,
    description: str,
    router: APIRouter,
    handlers: Mapping[str, StepHandler],
    on_start: Hook,
) -> FastAPI:
    """A saga participant: the service shell, its routes, fault injection, and the
    subscriptions the saga definition routes to it."""
    app, dapr_app = service_app(settings, title=title, description=description, on_start=on_start)
    app.include_router(router)
    mount_faults(app)
    route_events(dapr_app, settings, handlers)
    return app

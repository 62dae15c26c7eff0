"""Pub/sub entry points: a subscription per topic that dispatches on CloudEvent type, and the
diagnostics inbox that proves pub/sub reaches the app."""

import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

from dapr.ext.fastapi import DaprApp
from fastapi import APIRouter, HTTPException, Request
from pydantic import ValidationError

from daprshop_contracts import topics
from daprshop_contracts.events import CloudEvent, Event, Pinged, parse_event
from daprshop_platform.service import PlatformDep, platform_of
from daprshop_platform.settings import ServiceSettings

log = logging.getLogger("daprshop")
D = TypeVar("D")
EventHandler = Callable[[Event, D], Awaitable[None]]
DROP = {"status": "DROP"}  # daprd sends the message to the route's dead-letter topic


async def envelope_of(request: Request) -> CloudEvent | None:
    """The CloudEvent daprd delivered, or None (logged) if the body is not one. Read here,
    not by FastAPI: its 422 would make daprd retry what no retry can fix."""
    try:
        return CloudEvent.model_validate_json(await request.body())
    except ValidationError as err:
        log.warning("dropping a malformed delivery to %s: %s", request.url.path, err)
        return None


def subscribe(
    dapr_app: DaprApp,
    settings: ServiceSettings,
    topic: str,
    table: Mapping[str, EventHandler[D]],
    deps: Callable[[Request], D],
) -> None:
    """Subscribe to `topic` and dispatch each event to `table[type](event, deps)`. Types
    nobody here handles are acknowledged; an envelope or payload that does not parse is
    dropped to the dead-letter topic at once; a handler error is retried by Dapr's
    resiliency policy."""

    @dapr_app.subscribe(  # type: ignore[untyped-decorator]
        pubsub=settings.pubsub_name,
        topic=topic,
        dead_letter_topic=topics.DEAD_LETTERS,
        route=f"/events/{topic}",
    )
    async def on_event(request: Request) -> dict[str, str]:
        envelope = await envelope_of(request)
        if envelope is None:
            return DROP
        handler = table.get(envelope.type)
        if handler is None:
            return {"status": "SUCCESS"}
        try:
            event = parse_event(envelope.type, envelope.data)
        except (ValidationError, KeyError) as err:
            log.warning(
                "dropping malformed %s %s to %s: %s",
                envelope.type,
                envelope.id,
                topics.DEAD_LETTERS,
                err,
            )
            return DROP
        platform_of(request).stats["events_received"] += 1
        await handler(event, deps(request))
        return {"status": "SUCCESS"}


def ping_inbox(dapr_app: DaprApp, settings: ServiceSettings) -> APIRouter:
    """Record each diagnostics ping that arrives; the router shows whether one did."""
    router = APIRouter(tags=["ops"])

    @dapr_app.subscribe(  # type: ignore[untyped-decorator]
        pubsub=settings.pubsub_name,
        topic=topics.DIAGNOSTICS,
        dead_letter_topic=topics.DEAD_LETTERS,
    )
    async def on_pinged(request: Request, platform: PlatformDep) -> dict[str, str]:
        envelope = await envelope_of(request)
        if envelope is None:
            return DROP
        try:
            ping = Pinged.model_validate(envelope.data)
        except ValidationError as err:
            log.warning("dropping a malformed ping to %s: %s", topics.DEAD_LETTERS, err)
            return DROP
        await platform.store.save(
            f"ping:{ping.ping_id}",
            {"ping_id": ping.ping_id, "sender": ping.sender, "cloudevent_id": envelope.id},
        )
        return {"status": "SUCCESS"}

    @router.get(
        "/diagnostics/pings/{ping_id}",
        summary="Whether a diagnostics ping published by orders reached this app",
    )
    async def get_ping(ping_id: str, platform: PlatformDep) -> dict[str, Any]:
        value, _etag = await platform.store.get(f"ping:{ping_id}")
        if value is None:
            raise HTTPException(404, f"ping {ping_id!r} has not arrived at {settings.app_id}")
        return dict(value)

    return router

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


def subscribe(
    dapr_app: DaprApp,
    settings: ServiceSettings,
    topic: str,
    table: Mapping[str, EventHandler[D]],
    deps: Callable[[Request], D],
) -> None:
    """Subscribe to `topic` and dispatch each event to `table[type](event, deps)`. Types
    nobody here handles are acknowledged; a payload that does not parse is dropped to the
    dead-letter topic at once; a handler error is retried by Dapr's resiliency policy."""

    @dapr_app.subscribe(  # type: ignore[untyped-decorator]
        pubsub=settings.pubsub_name,
        topic=topic,
        dead_letter_topic=topics.DEAD_LETTERS,
        route=f"/events/{topic}",
    )
    async def on_event(envelope: CloudEvent, request: Request) -> dict[str, str]:
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
            return {"status": "DROP"}
        platform_of(request).stats["events_received"] += 1
        await handler(event, deps(request))
        return {"status": "SUCCESS"}


def ping_inbox(dapr_app: DaprApp, settings: ServiceSettings) -> APIRouter:
    """Record each diagnostics ping that arrives; the router shows whether one did."""
    router = APIRouter(tags=["ops"])

    @dapr_app.subscribe(pubsub=settings.pubsub_name, topic=topics.DIAGNOSTICS)  # type: ignore[untyped-decorator]
    async def on_pinged(envelope: CloudEvent, platform: PlatformDep) -> dict[str, str]:
        ping = Pinged.model_validate(envelope.data)
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

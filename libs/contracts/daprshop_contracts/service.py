"""The FastAPI app shell every service shares: a Dapr client, state store, publisher and
locks opened at start-up (`Ctx`), `/healthz`, event subscriptions that dispatch on CloudEvent
type, and the diagnostics inbox that proves pub/sub reaches the app."""

import logging
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Annotated, Any

from dapr.aio.clients import DaprClient
from dapr.ext.fastapi import DaprApp
from fastapi import Depends, FastAPI, Header, HTTPException, Request
from pydantic import ValidationError

from daprshop_contracts import topics
from daprshop_contracts.dapr import Invoker, KeyedLocks, Publisher, StateStore
from daprshop_contracts.events import CloudEvent, Event, Pinged, parse_event
from daprshop_contracts.settings import ServiceSettings

log = logging.getLogger("daprshop")


@dataclass
class Ctx:
    """Everything a handler needs for I/O, built once per process at start-up."""

    settings: ServiceSettings
    dapr: DaprClient
    store: StateStore
    publisher: Publisher
    locks: KeyedLocks
    invoker: Invoker
    stats: Counter[str] = field(default_factory=Counter)  # e.g. duplicates absorbed
    extra: dict[str, Any] = field(default_factory=dict)  # a service's own start-up data


def ctx(request: Request) -> Ctx:
    return request.app.state.ctx  # type: ignore[no-any-return]


CtxDep = Annotated[Ctx, Depends(ctx)]
Hook = Callable[[FastAPI, Ctx], Awaitable[None]]
EventHandler = Callable[[Event, Ctx], Awaitable[None]]


def require_admin(request: Request, x_admin_token: Annotated[str | None, Header()] = None) -> None:
    if x_admin_token != ctx(request).settings.admin_token:
        raise HTTPException(
            401,
            "admin endpoint: send the X-Admin-Token header "
            "(DAPRSHOP_ADMIN_TOKEN; default daprshop-dev-token)",
        )


AdminDep = Depends(require_admin)


def service_app(
    settings: ServiceSettings,
    *,
    title: str,
    description: str,
    on_start: Hook | None = None,
    on_stop: Hook | None = None,
    ping_inbox: bool = True,
) -> tuple[FastAPI, DaprApp]:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        client = DaprClient(address=f"127.0.0.1:{settings.dapr_grpc_port}")
        topic = topics.BY_PRODUCER.get(settings.app_id, settings.app_id)
        app.state.ctx = Ctx(
            settings,
            client,
            StateStore(client, settings.statestore_name),
            Publisher(
                client, settings.pubsub_name, topic, settings.statestore_name, settings.publish_via
            ),
            KeyedLocks(),
            Invoker(settings.dapr_http_port, settings.invoke_timeout_s),
        )
        if on_start is not None:
            await on_start(app, app.state.ctx)
        try:
            yield
        finally:
            if on_stop is not None:
                await on_stop(app, app.state.ctx)
            await app.state.ctx.invoker.close()
            await client.close()

    app = FastAPI(title=title, description=description, lifespan=lifespan)
    dapr_app = DaprApp(app, router_tags=["events"])

    @app.get("/healthz", tags=["ops"], summary="Liveness of this app (not of its sidecar)")
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "app_id": settings.app_id}

    @app.get(
        "/diagnostics/stats",
        tags=["ops"],
        summary="Counters since start: events handled, duplicates absorbed, refusals",
    )
    async def stats(request: Request) -> dict[str, int]:
        return dict(ctx(request).stats)

    if ping_inbox:
        _mount_ping_inbox(app, dapr_app, settings)
    return app, dapr_app


def subscribe(
    dapr_app: DaprApp, settings: ServiceSettings, topic: str, handlers: dict[str, EventHandler]
) -> None:
    """Subscribe to `topic` and dispatch each event to `handlers[type]`. Types nobody here
    handles are acknowledged; a payload that does not parse is dropped to the dead-letter
    topic at once; a handler error is retried by Dapr's resiliency policy."""

    @dapr_app.subscribe(  # type: ignore[untyped-decorator]
        pubsub=settings.pubsub_name,
        topic=topic,
        dead_letter_topic=topics.DEAD_LETTERS,
        route=f"/events/{topic}",
    )
    async def on_event(envelope: CloudEvent, request: Request) -> dict[str, str]:
        handler = handlers.get(envelope.type)
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
        c = ctx(request)
        c.stats["events_received"] += 1
        await handler(event, c)
        return {"status": "SUCCESS"}


def _mount_ping_inbox(app: FastAPI, dapr_app: DaprApp, settings: ServiceSettings) -> None:
    @dapr_app.subscribe(pubsub=settings.pubsub_name, topic=topics.DIAGNOSTICS)  # type: ignore[untyped-decorator]
    async def on_pinged(envelope: CloudEvent, request: Request) -> dict[str, str]:
        ping = Pinged.model_validate(envelope.data)
        await ctx(request).store.save(
            f"ping:{ping.ping_id}",
            {"ping_id": ping.ping_id, "sender": ping.sender, "cloudevent_id": envelope.id},
        )
        return {"status": "SUCCESS"}

    @app.get(
        "/diagnostics/pings/{ping_id}",
        tags=["ops"],
        summary="Whether a diagnostics ping published by orders reached this app",
    )
    async def get_ping(ping_id: str, request: Request) -> dict[str, Any]:
        value, _etag = await ctx(request).store.get(f"ping:{ping_id}")
        if value is None:
            raise HTTPException(404, f"ping {ping_id!r} has not arrived at {settings.app_id}")
        return dict(value)

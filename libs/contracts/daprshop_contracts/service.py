"""The FastAPI app shell every service shares: a Dapr client opened at start-up and closed
at shutdown, `/healthz`, and the diagnostics inbox that proves pub/sub reaches the app."""

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from dapr.aio.clients import DaprClient
from dapr.ext.fastapi import DaprApp
from fastapi import FastAPI, HTTPException, Request

from daprshop_contracts import topics
from daprshop_contracts.dapr import StateStore
from daprshop_contracts.events import CloudEvent, Pinged
from daprshop_contracts.settings import ServiceSettings

Hook = Callable[[FastAPI], Awaitable[None]]


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
        app.state.settings = settings
        app.state.dapr = DaprClient(address=f"127.0.0.1:{settings.dapr_grpc_port}")
        app.state.store = StateStore(app.state.dapr, settings.statestore_name)
        if on_start is not None:
            await on_start(app)
        try:
            yield
        finally:
            if on_stop is not None:
                await on_stop(app)
            await app.state.dapr.close()

    app = FastAPI(title=title, description=description, lifespan=lifespan)
    dapr_app = DaprApp(app)

    @app.get("/healthz", tags=["ops"], summary="Liveness of this app (not of its sidecar)")
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "app_id": settings.app_id}

    if ping_inbox:
        _mount_ping_inbox(app, dapr_app, settings)
    return app, dapr_app


def _mount_ping_inbox(app: FastAPI, dapr_app: DaprApp, settings: ServiceSettings) -> None:
    @dapr_app.subscribe(pubsub=settings.pubsub_name, topic=topics.DIAGNOSTICS)  # type: ignore[untyped-decorator]
    async def on_pinged(envelope: CloudEvent, request: Request) -> dict[str, str]:
        ping = Pinged.model_validate(envelope.data)
        store: StateStore = request.app.state.store
        await store.save(
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
        value, _etag = await request.app.state.store.get(f"ping:{ping_id}")
        if value is None:
            raise HTTPException(404, f"ping {ping_id!r} has not arrived at {settings.app_id}")
        return dict(value)

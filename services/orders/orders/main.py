"""Entry point: `uvicorn orders.main:create_app --factory`."""

import asyncio
from datetime import UTC, datetime

from fastapi import FastAPI, Request

from daprshop_contracts import topics
from daprshop_contracts.events import EVENTS, CloudEvent, Event, Mode
from daprshop_contracts.saga import HYBRID_HANDOFF, PARTICIPANTS, SAGA
from daprshop_contracts.service import Ctx, EventHandler, ctx, service_app, subscribe
from orders import api, diagnostics, operations, store
from orders.saga import tracker
from orders.saga.runtime import build_client, build_runtime
from orders.settings import Settings

# Hybrid: outcomes of the steps run by choreography, raised to the waiting workflow.
HANDED_OVER = {t for s in SAGA[HYBRID_HANDOFF:] for t in (s.succeeded.TYPE, s.failed.TYPE)}


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()

    async def start(app: FastAPI, c: Ctx) -> None:
        c.extra["loop"] = asyncio.get_running_loop()
        app.state.workflow_runtime = build_runtime(settings, c)
        await asyncio.to_thread(app.state.workflow_runtime.start)
        c.extra["workflows"] = build_client(settings)

    async def stop(app: FastAPI, _c: Ctx) -> None:
        await asyncio.to_thread(app.state.workflow_runtime.shutdown)

    app, dapr_app = service_app(
        settings,
        title="daprshop orders",
        on_start=start,
        on_stop=stop,
        ping_inbox=False,
        description="Places orders and runs their saga: choreography, orchestration or hybrid.",
    )
    app.add_middleware(api.BodyLimit)
    app.include_router(api.router)
    app.include_router(operations.router)
    app.include_router(diagnostics.router)

    async def track(event: Event, c: Ctx) -> None:
        await tracker.record(event, c)
        if event.mode is Mode.HYBRID and event.TYPE in HANDED_OVER:
            await tracker.hand_back(event, c)

    for producer in PARTICIPANTS:
        table: dict[str, EventHandler] = {
            t: track for t in EVENTS if topics.producer_of(t) == producer
        }
        subscribe(dapr_app, settings, topics.BY_PRODUCER[producer], table)

    @dapr_app.subscribe(pubsub=settings.pubsub_name, topic=topics.DEAD_LETTERS)  # type: ignore[untyped-decorator]
    async def on_dead_letter(envelope: CloudEvent, request: Request) -> dict[str, str]:
        await store.add_dead_letter(
            ctx(request),
            {
                "id": envelope.id,
                "type": envelope.type,
                "source": envelope.source,
                "data": envelope.data,
                "received_at": datetime.now(UTC).isoformat(),
            },
        )
        return {"status": "SUCCESS"}

    return app

"""Composition root: `uvicorn orders.main:create_app --factory`."""

import asyncio
import contextlib

from fastapi import FastAPI

from daprshop_contracts.saga import ORDER_SAGA
from daprshop_platform.participant import mount_faults
from daprshop_platform.service import Lifecycle, Platform, provider, service_app
from daprshop_platform.workflows import DaprWorkflows
from orders import api, diagnostics, health, inbound, operations_api
from orders.api import MAX_BODY_BYTES, PUBLIC
from orders.deps import OrdersDeps
from orders.placing import start_saga
from orders.reconciler import Reconciler
from orders.saga.runtime import SagaWorker
from orders.settings import Settings


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    worker: SagaWorker | None = None
    sweeping: asyncio.Task[None] | None = None

    async def start(platform: Platform) -> OrdersDeps:
        nonlocal worker, sweeping
        deps = OrdersDeps(platform, settings, DaprWorkflows(settings.dapr_grpc_port), ORDER_SAGA)
        worker = SagaWorker(deps)
        await worker.start()
        reconciler = Reconciler(
            platform,
            lambda order: start_saga(order, deps),
            grace_s=settings.reconcile_after_s,
            redrive_s=settings.redrive_after_s,
        )
        sweeping = asyncio.create_task(reconciler.run(settings.reconcile_every_s))
        return deps

    async def stop(_deps: OrdersDeps) -> None:
        if sweeping is not None:
            sweeping.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sweeping
        if worker is not None:
            await worker.stop()

    app, dapr_app = service_app(
        settings,
        Lifecycle(start, stop),
        title="daprshop orders",
        description="Places orders and runs their saga: choreography, orchestration or hybrid.",
        max_body_bytes=MAX_BODY_BYTES,
        public=PUBLIC,
    )
    app.include_router(api.router)
    app.include_router(operations_api.router)
    app.include_router(diagnostics.router)
    app.include_router(mount_faults())  # "PlaceOrder": a crash between the save and the start
    app.include_router(health.router(lambda: worker))
    inbound.subscribe_events(dapr_app, settings, ORDER_SAGA.participants, provider(OrdersDeps))
    return app

"""Entry point: `uvicorn orders.main:create_app --factory`."""

import asyncio

from fastapi import FastAPI

from daprshop_contracts.service import service_app
from orders import diagnostics
from orders.saga.runtime import build_client, build_runtime
from orders.settings import Settings


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()

    async def start_workflows(app: FastAPI) -> None:
        app.state.workflow_runtime = build_runtime(settings)
        await asyncio.to_thread(app.state.workflow_runtime.start)
        app.state.workflows = build_client(settings)

    async def stop_workflows(app: FastAPI) -> None:
        await asyncio.to_thread(app.state.workflow_runtime.shutdown)

    app, _dapr_app = service_app(
        settings,
        title="daprshop orders",
        description="Places orders and runs their saga: choreography, orchestration or hybrid.",
        on_start=start_workflows,
        on_stop=stop_workflows,
        ping_inbox=False,
    )
    app.include_router(diagnostics.router)
    return app

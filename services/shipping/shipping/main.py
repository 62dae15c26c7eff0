"""Entry point: `uvicorn shipping.main:create_app --factory`."""

from fastapi import FastAPI

from daprshop_contracts.service import service_app
from shipping.settings import Settings


def create_app(settings: Settings | None = None) -> FastAPI:
    app, _dapr_app = service_app(
        settings or Settings(),
        title="daprshop shipping",
        description="Destinations; shipments and their cancellation.",
    )
    return app

"""Entry point: `uvicorn inventory.main:create_app --factory`."""

from fastapi import FastAPI

from daprshop_contracts.service import service_app
from inventory.settings import Settings


def create_app(settings: Settings | None = None) -> FastAPI:
    app, _dapr_app = service_app(
        settings or Settings(),
        title="daprshop inventory",
        description="Catalogue, prices and stock; reservations and their release.",
    )
    return app

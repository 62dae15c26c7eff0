"""Entry point: `uvicorn payments.main:create_app --factory`."""

from fastapi import FastAPI

from daprshop_contracts.service import service_app
from payments.settings import Settings


def create_app(settings: Settings | None = None) -> FastAPI:
    app, _dapr_app = service_app(
        settings or Settings(),
        title="daprshop payments",
        description="Customers' credit limits; charges and refunds, idempotent per order.",
    )
    return app

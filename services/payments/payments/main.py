"""Entry point: `uvicorn payments.main:create_app --factory`."""

from fastapi import FastAPI

from daprshop_contracts.participant import mount_faults, route_events
from daprshop_contracts.service import Ctx, service_app
from payments import api, domain, handlers
from payments.settings import Settings


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()

    async def start(_app: FastAPI, c: Ctx) -> None:
        c.extra["customers"] = domain.load_customers()

    app, dapr_app = service_app(
        settings,
        title="daprshop payments",
        on_start=start,
        description="Customers' credit limits; charges and refunds, idempotent per order.",
    )
    app.include_router(api.router)
    mount_faults(app)
    route_events(dapr_app, settings, handlers.HANDLERS)
    return app

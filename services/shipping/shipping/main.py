"""Entry point: `uvicorn shipping.main:create_app --factory`."""

from fastapi import FastAPI

from daprshop_contracts.participant import mount_faults, route_events
from daprshop_contracts.service import Ctx, service_app
from shipping import api, domain, handlers
from shipping.settings import Settings


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()

    async def start(_app: FastAPI, c: Ctx) -> None:
        c.extra["destinations"] = domain.load_destinations()

    app, dapr_app = service_app(
        settings,
        title="daprshop shipping",
        on_start=start,
        description="Destinations; shipments and their cancellation.",
    )
    app.include_router(api.router)
    mount_faults(app)
    route_events(dapr_app, settings, handlers.HANDLERS)
    return app

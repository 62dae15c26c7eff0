"""Entry point: `uvicorn inventory.main:create_app --factory`."""

from fastapi import FastAPI

from daprshop_contracts.participant import mount_faults, route_events
from daprshop_contracts.service import Ctx, service_app
from inventory import api, domain, handlers
from inventory.settings import Settings


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()

    async def start(_app: FastAPI, c: Ctx) -> None:
        c.extra["catalogue"] = domain.load_catalogue()
        await handlers.seed_stock(c, c.extra["catalogue"])

    app, dapr_app = service_app(
        settings,
        title="daprshop inventory",
        on_start=start,
        description="Catalogue, prices and stock; reservations and their release.",
    )
    app.include_router(api.router)
    mount_faults(app)
    route_events(dapr_app, settings, handlers.HANDLERS)
    return app

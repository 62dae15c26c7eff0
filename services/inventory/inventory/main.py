"""Entry point: `uvicorn inventory.main:create_app --factory`."""

from fastapi import FastAPI

from daprshop_contracts.participant import participant_app
from daprshop_contracts.service import Ctx
from inventory import api, domain, handlers
from inventory.settings import Settings


async def start(_app: FastAPI, c: Ctx) -> None:
    c.extra["catalogue"] = domain.load_catalogue()
    await handlers.seed_stock(c, c.extra["catalogue"])


def create_app(settings: Settings | None = None) -> FastAPI:
    return participant_app(
        settings or Settings(),
        title="daprshop inventory",
        router=api.router,
        description="Catalogue, prices and stock; reservations and their release.",
        handlers=handlers.HANDLERS,
        on_start=start,
    )

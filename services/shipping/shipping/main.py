"""Entry point: `uvicorn shipping.main:create_app --factory`."""

from fastapi import FastAPI

from daprshop_contracts.participant import participant_app
from daprshop_contracts.service import Ctx
from shipping import api, domain, handlers
from shipping.settings import Settings


async def start(_app: FastAPI, c: Ctx) -> None:
    c.extra["destinations"] = domain.load_destinations()


def create_app(settings: Settings | None = None) -> FastAPI:
    return participant_app(
        settings or Settings(),
        title="daprshop shipping",
        router=api.router,
        description="Destinations; shipments and their cancellation.",
        handlers=handlers.HANDLERS,
        on_start=start,
    )

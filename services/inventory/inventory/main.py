"""Composition root: `uvicorn inventory.main:create_app --factory`."""

from fastapi import FastAPI

from daprshop_platform.participant import participant_app
from daprshop_platform.service import Lifecycle, Platform
from inventory import api, handlers
from inventory.deps import InventoryDeps, load_catalogue
from inventory.settings import Settings


async def start(platform: Platform) -> InventoryDeps:
    deps = InventoryDeps(platform, load_catalogue())
    await handlers.seed_stock(deps)
    return deps


def create_app(settings: Settings | None = None) -> FastAPI:
    return participant_app(
        settings or Settings(),
        Lifecycle(start),
        deps=InventoryDeps,
        steps=handlers.STEPS,
        router=api.router,
        title="daprshop inventory",
        description="Catalogue, prices and stock; reservations and their release.",
    )

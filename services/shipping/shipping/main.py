"""Composition root: `uvicorn shipping.main:create_app --factory`."""

from fastapi import FastAPI

from daprshop_platform.participant import participant_app
from daprshop_platform.service import Lifecycle, Platform
from shipping import api, handlers
from shipping.deps import ShippingDeps, load_destinations
from shipping.settings import Settings


async def start(platform: Platform) -> ShippingDeps:
    return ShippingDeps(platform, load_destinations())


def create_app(settings: Settings | None = None) -> FastAPI:
    return participant_app(
        settings or Settings(),
        Lifecycle(start),
        deps=ShippingDeps,
        steps=handlers.STEPS,
        router=api.router,
        title="daprshop shipping",
        description="Destinations; shipments and their cancellation.",
    )

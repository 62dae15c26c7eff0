"""Composition root: `uvicorn payments.main:create_app --factory`."""

from fastapi import FastAPI

from daprshop_platform.participant import participant_app
from daprshop_platform.service import Lifecycle, Platform
from payments import api, handlers
from payments.deps import PaymentsDeps, load_customers
from payments.settings import Settings


async def start(platform: Platform) -> PaymentsDeps:
    return PaymentsDeps(platform, load_customers())


def create_app(settings: Settings | None = None) -> FastAPI:
    return participant_app(
        settings or Settings(),
        Lifecycle(start),
        deps=PaymentsDeps,
        steps=handlers.STEPS,
        router=api.router,
        title="daprshop payments",
        description="Customers' credit limits; charges and refunds, idempotent per order.",
    )

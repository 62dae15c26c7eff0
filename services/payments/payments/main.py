"""Entry point: `uvicorn payments.main:create_app --factory`."""

from fastapi import FastAPI

from daprshop_contracts.participant import participant_app
from daprshop_contracts.service import Ctx
from payments import api, domain, handlers
from payments.settings import Settings


async def start(_app: FastAPI, c: Ctx) -> None:
    c.extra["customers"] = domain.load_customers()


def create_app(settings: Settings | None = None) -> FastAPI:
    return participant_app(
        settings or Settings(),
        title="daprshop payments",
        router=api.router,
        description="Customers' credit limits; charges and refunds, idempotent per order.",
        handlers=handlers.HANDLERS,
        on_start=start,
    )

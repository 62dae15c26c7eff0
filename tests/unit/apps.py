"""The services' apps as their composition roots build them, on the fakes: the platform and
the service's dependencies are set by hand, and the lifespan (which opens Dapr clients) never
runs. For tests of what reaches a route (`tests.unit.asgi.call`). The Python apps only:
shipping is in Go, its routes tested by its own Go tests (services/shipping/internal)."""

import asyncio
from collections.abc import Callable

from fastapi import FastAPI

from daprshop_contracts.saga import ORDER_SAGA
from daprshop_platform.service import Platform
from inventory import handlers as inventory_handlers
from inventory import main as inventory_main
from inventory.deps import InventoryDeps, load_catalogue
from inventory.settings import Settings as InventorySettings
from orders import main as orders_main
from orders.deps import OrdersDeps
from orders.settings import Settings as OrdersSettings
from payments import main as payments_main
from payments.deps import PaymentsDeps, load_customers
from payments.settings import Settings as PaymentsSettings
from tests.unit.fakes import APP_TOKEN, FakeSecrets, fake_platform

SIDECAR = {"dapr-api-token": APP_TOKEN}  # what the app's sidecar sends
Builder = Callable[[], FastAPI]


def _serve(app: FastAPI, platform: Platform, deps: object) -> FastAPI:
    app.state.platform, app.state.deps = platform, deps
    return app


def inventory(
    secrets: FakeSecrets | None = None, settings: InventorySettings | None = None
) -> FastAPI:
    """Inventory with SKU-001 stocked (5)."""
    settings = settings or InventorySettings(app_api_token=APP_TOKEN)
    platform = fake_platform("inventory", settings, secrets)
    deps = InventoryDeps(platform, load_catalogue())
    asyncio.run(inventory_handlers.seed_stock(deps, levels={"SKU-001": 5}))
    return _serve(inventory_main.create_app(settings), platform, deps)


def payments(secrets: FakeSecrets | None = None) -> FastAPI:
    settings = PaymentsSettings(app_api_token=APP_TOKEN)
    platform = fake_platform("payments", settings, secrets)
    deps = PaymentsDeps(platform, load_customers())
    return _serve(payments_main.create_app(settings), platform, deps)


def orders(secrets: FakeSecrets | None = None) -> FastAPI:
    """Orders without a workflow engine (None): a route that reaches one fails the test."""
    settings = OrdersSettings(app_api_token=APP_TOKEN)
    platform = fake_platform("orders", settings, secrets)
    deps = OrdersDeps(platform, settings, None, ORDER_SAGA)  # type: ignore[arg-type]
    return _serve(orders_main.create_app(settings), platform, deps)

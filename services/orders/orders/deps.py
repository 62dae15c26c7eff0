"""Orders' dependencies, built once at start-up: the platform, orders' own settings, the
workflow client and the saga definition it coordinates."""

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, HTTPException

from daprshop_contracts.saga import Saga
from daprshop_platform.ports import Workflows
from daprshop_platform.service import Platform, provider
from orders import domain, store
from orders.settings import Settings


@dataclass(frozen=True)
class OrdersDeps:
    platform: Platform
    settings: Settings
    workflows: Workflows
    saga: Saga


DepsDep = Annotated[OrdersDeps, Depends(provider(OrdersDeps))]


async def load(order_id: str, deps: OrdersDeps) -> domain.Order:
    """The order, or 404: what every route about one order starts with."""
    order = await store.get_order(deps.platform, order_id)
    if order is None:
        raise HTTPException(404, f"no order {order_id!r}")
    return order


def shown(order: domain.Order, deps: OrdersDeps) -> dict[str, Any]:
    """The order as the API shows it, its trace linked in the trace UI when one is set."""
    url = deps.settings.traces_url
    return domain.public(order, str(url) if url else None)

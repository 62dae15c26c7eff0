"""Orders' status tracker never acknowledges an event it did not record: an event for an
order orders does not know is refused (Dapr retries it, then dead-letters it), not dropped."""

import asyncio
from typing import Any

import pytest

from daprshop_contracts.events import Address, Line, Mode, OrderContext, PaymentCharged
from daprshop_contracts.saga import ORDER_SAGA
from orders import store
from orders.deps import OrdersDeps
from orders.saga import tracker
from orders.settings import Settings
from tests.unit.fakes import APP_TOKEN, fake_platform
from tests.unit.test_orders_domain import order


class NoWorkflows:
    async def raise_event(self, instance_id: str, name: str, data: Any) -> bool:
        raise AssertionError("a choreography event was raised to a workflow")


def deps() -> OrdersDeps:
    platform = fake_platform("orders")
    return OrdersDeps(platform, Settings(app_api_token=APP_TOKEN), NoWorkflows(), ORDER_SAGA)  # type: ignore[arg-type]


def charged(order_id: str) -> PaymentCharged:
    context = OrderContext(
        customer_id="cust-001",
        items=(Line(sku="SKU-001", quantity=2, unit_price=500),),
        total=1000,
        address=Address(
            name="Ada", line1="1 Way", city="Utrecht", postal_code="3511", country="NL"
        ),
    )
    return PaymentCharged(order_id=order_id, mode=Mode.CHOREOGRAPHY, order=context, amount=1000)


async def save(d: OrdersDeps, record: Any) -> None:
    await d.platform.store.save(store.order_key(record.order_id), record.model_dump(mode="json"))


def test_an_event_for_an_unknown_order_is_not_acknowledged() -> None:
    """track raises instead of returning: the subscription answers 500, Dapr redelivers it
    (and dead-letters it after the resiliency retries) instead of losing it."""
    d = deps()
    with pytest.raises(Exception, match="o-unknown"):
        asyncio.run(tracker.track(charged("o-unknown"), d))


def test_an_event_is_recorded_and_its_duplicate_acknowledged() -> None:
    d = deps()
    record = order()
    asyncio.run(save(d, record))
    asyncio.run(tracker.track(charged(record.order_id), d))
    asyncio.run(tracker.track(charged(record.order_id), d))  # a redelivery: no error
    stored = asyncio.run(store.get_order(d.platform, record.order_id))
    assert stored is not None
    assert [t.event for t in stored.timeline].count("PaymentCharged") == 1

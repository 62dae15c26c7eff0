"""Contract limits: a participant's command refuses what no order could hold (negative or
non-integer amounts, unbounded or key-breaking ids, text that is not Unicode), and the
values real orders carry still parse."""

import math
from typing import Any

import pytest
from pydantic import ValidationError

from daprshop_contracts.commands import ChargePayment, ReserveStock
from daprshop_contracts.events import EVENTS, OrderPlaced

ADDRESS = {
    "name": "Ada",
    "line1": "1 Way",
    "city": "Utrecht",
    "postal_code": "3511",
    "country": "NL",
}


def order(**over: Any) -> dict[str, Any]:
    line = {"sku": "SKU-001", "quantity": 2, "unit_price": 2499}
    return {"customer_id": "cust-001", "items": [line], "total": 4998, "address": ADDRESS, **over}


def test_real_orders_still_parse() -> None:
    cmd = ReserveStock.model_validate({"order_id": "o1", "order": order()})
    event = OrderPlaced.model_validate(OrderPlaced.answering(cmd, order=cmd.order).model_dump())
    assert event.order.total == 4998 and EVENTS[event.TYPE] is OrderPlaced


@pytest.mark.parametrize(
    "over",
    [
        {"total": -500},
        {"total": 0},
        {"total": math.nan},
        {"total": True},
        {"total": 10.0},
        {"items": [{"sku": "SKU-001", "quantity": -5}]},
        {"items": [{"sku": "SKU-001", "quantity": True}]},
        {"items": [{"sku": "a||b", "quantity": 1}]},
        {"address": {**ADDRESS, "name": "Ada \ud800"}},
        {"customer_id": ""},
    ],
)
def test_a_command_refuses_what_no_order_holds(over: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        ChargePayment.model_validate({"order_id": "o1", "order": order(**over)})


@pytest.mark.parametrize("order_id", ["", "x" * 129, "a||b", "o 1", "\udc00"])
def test_an_order_id_is_a_bounded_word(order_id: str) -> None:
    with pytest.raises(ValidationError, match="order_id"):
        ChargePayment.model_validate({"order_id": order_id, "order": order()})

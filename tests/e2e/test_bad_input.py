"""Invalid requests get a 4xx that says what is wrong, and nothing is created or reserved."""

from typing import Any

import pytest

from daprshop.stack import Stack
from tests.shop import ADDRESS, Shop, http
from tests.waiting import eventually

pytestmark = pytest.mark.e2e
SKU = "SKU-003"


@pytest.fixture(scope="module")
def shop(stack: Stack) -> Shop:
    return Shop(stack)


def body(**over: Any) -> dict[str, Any]:
    return {
        "customer_id": "cust-001",
        "mode": "choreography",
        "items": [{"sku": SKU, "quantity": 1}],
        "address": dict(ADDRESS),
        **over,
    }


def newest_seq(shop: Shop) -> int | None:
    orders = http("GET", f"{shop.orders}/orders?limit=1")[1]["orders"]
    return orders[0]["seq"] if orders else None


INVALID = {
    "unknown SKU": (
        body(items=[{"sku": SKU, "quantity": 1}, {"sku": "NOPE-1", "quantity": 1}]),
        ["body", "items", 1, "sku"],
        "unknown SKU",
    ),
    "quantity zero": (
        body(items=[{"sku": SKU, "quantity": 0}]),
        ["body", "items", 0, "quantity"],
        "greater than 0",
    ),
    "quantity above the line limit": (
        body(items=[{"sku": SKU, "quantity": 11}]),
        ["body", "items", 0, "quantity"],
        "less than or equal to 10",
    ),
    "no lines": (body(items=[]), ["body", "items"], "at least 1"),
    "too many lines": (
        body(items=[{"sku": f"SKU-{i:03d}", "quantity": 1} for i in range(1, 22)]),
        ["body", "items"],
        "at most 20",
    ),
    "the same SKU twice": (
        body(items=[{"sku": SKU, "quantity": 1}] * 2),
        ["body", "items"],
        "appears twice",
    ),
    "missing address": (
        {k: v for k, v in body().items() if k != "address"},
        ["body", "address"],
        "Field required",
    ),
    "malformed country": (
        body(address={**ADDRESS, "country": "Netherlands"}),
        ["body", "address", "country"],
        "match pattern",
    ),
    "unknown mode": (body(mode="telepathy"), ["body", "mode"], "choreography"),
    "a client-set price": (body(total=1), ["body", "total"], "Extra inputs"),
}


@pytest.mark.parametrize("case", INVALID, ids=list(INVALID))
def test_invalid_orders_get_422_naming_the_field(shop: Shop, case: str) -> None:
    payload, loc, message = INVALID[case]
    shop.set_stock({SKU: 50})
    seq = newest_seq(shop)
    status, answer, _ = http("POST", f"{shop.orders}/orders", payload)
    assert status == 422, answer
    errors = [e for e in answer["detail"] if e["loc"] == loc]
    assert errors and message in errors[0]["msg"], answer
    assert newest_seq(shop) == seq, "an order was created"
    assert shop.stock(SKU)["available"] == 50 and shop.stock(SKU)["holds"] == {}


def test_an_oversize_body_is_refused_with_413(shop: Shop) -> None:
    status, answer, _ = http("POST", f"{shop.orders}/orders", raw=b"{" + b" " * 20_000 + b"}")
    assert status == 413
    assert "limit is 16384" in answer["detail"]


def test_an_unknown_order_is_a_404(shop: Shop) -> None:
    status, answer, _ = http("GET", f"{shop.orders}/orders/does-not-exist")
    assert status == 404 and "does-not-exist" in answer["detail"]


def test_admin_endpoints_need_the_token(shop: Shop) -> None:
    status, answer, _ = http("PUT", f"{shop.inventory}/admin/stock", {SKU: 1})
    assert status == 401 and "X-Admin-Token" in answer["detail"]


def test_a_poison_message_lands_in_the_dead_letters_shown_by_orders(shop: Shop) -> None:
    """An event that does not match its contract is dropped to the dead-letter topic at once
    (no retries can fix it) and orders lists it."""
    shop.publish(
        "inventory", "inventory.StockReserved.v1", {"order_id": "x", "bogus": True}, via="inventory"
    )

    def listed() -> Any:
        letters = http("GET", f"{shop.orders}/dead-letters")[1]
        found = [x for x in letters if x["data"].get("bogus")]
        return found[0] if found else None

    letter = eventually(listed, timeout=30, what="the poison message in /dead-letters")
    assert letter["type"] == "inventory.StockReserved.v1"


def test_orders_list_filters_by_mode_and_status_and_pages(shop: Shop) -> None:
    shop.set_stock({SKU: 50})
    ids = [shop.place_ok([(SKU, 1)])["order_id"] for _ in range(3)]
    for oid in ids:
        shop.terminal(oid)
    first = http("GET", f"{shop.orders}/orders?mode=choreography&status=COMPLETED&limit=2")[1]
    assert [o["order_id"] for o in first["orders"]] == ids[::-1][:2]
    assert all(o["status"] == "COMPLETED" for o in first["orders"])
    second = http(
        "GET",
        f"{shop.orders}/orders?mode=choreography&status=COMPLETED&limit=2"
        f"&cursor={first['next_cursor']}",
    )[1]
    assert second["orders"][0]["order_id"] == ids[0]
    status, _, _ = http("GET", f"{shop.orders}/orders?status=LOST")
    assert status == 422

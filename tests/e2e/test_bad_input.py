"""Invalid requests get a 4xx that says what is wrong, and nothing is created or reserved."""

import json
import socket
import urllib.parse
import uuid
from http.client import HTTPResponse
from typing import Any

import pytest

from daprshop.stack import Stack
from tests.shop import ADDRESS, Shop, http
from tests.waiting import eventually

pytestmark = pytest.mark.e2e
SKU = "SKU-003"


@pytest.fixture(scope="module")
def shop(stack: Stack) -> Shop:
    return Shop.of(stack)


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
    """Past the app's sidecar check, an admin endpoint still wants the admin secret, and
    its 401 names the header, never a value."""
    sidecar_only = {"dapr-api-token": shop.creds.app_tokens["inventory"]}
    status, answer, _ = http("PUT", f"{shop.inventory}/admin/stock", {SKU: 1}, sidecar_only)
    assert status == 401 and "X-Admin-Token" in answer["detail"]
    assert shop.creds.admin_token not in json.dumps(answer)


def test_an_unauthenticated_oversize_body_is_refused_unread(shop: Shop) -> None:
    """Without the sidecar's token a participant answers 401 before it reads any body."""
    raw = json.dumps(command(causation_id="x" * 20_000_000)).encode()
    status, answer = post_raw(f"{shop.payments}/commands/ChargePayment", raw, stop_after=0)
    assert status == 401, (status, answer)


def test_a_poison_message_lands_in_the_dead_letters_shown_by_orders(shop: Shop) -> None:
    """An event that does not match its contract is dropped to the dead-letter topic at once
    (no retries can fix it) and orders lists it."""
    shop.publish(
        "inventory", "inventory.StockReserved.v1", {"order_id": "x", "bogus": True}, via="inventory"
    )

    def listed() -> Any:
        letters = http("GET", f"{shop.orders}/dead-letters", headers=shop.auth("orders"))[1]
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


# -- issue #12 item 6: input limits everywhere, no 5xx from any input ------------------------
def post_raw(
    url: str,
    data: bytes,
    *,
    chunked: bool = False,
    stop_after: int | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, Any]:
    """POST `data` as is, with a Content-Length or chunked (no length for a limit to read).
    With `stop_after`, only that many body bytes are sent before the answer is read: a
    server refuses an oversize body without reading it all, and a client still writing
    then could see the connection reset instead of the 413."""
    parts = urllib.parse.urlsplit(url)
    assert parts.hostname and parts.port
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    framing = "Transfer-Encoding: chunked" if chunked else f"Content-Length: {len(data)}"
    extra = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {parts.netloc}\r\n{extra}"
        f"Content-Type: application/json\r\nConnection: close\r\n{framing}\r\n\r\n"
    ).encode()
    payload = data[:stop_after] if stop_after is not None else data
    if chunked:
        pieces = [payload[i : i + 16_384] for i in range(0, len(payload), 16_384)]
        payload = b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in pieces)
        payload += b"0\r\n\r\n" if stop_after is None else b""
    with socket.create_connection((parts.hostname, parts.port), timeout=60) as sock:
        sock.sendall(head + payload)
        resp = HTTPResponse(sock)
        resp.begin()
        answer = resp.read()
    try:
        return resp.status, json.loads(answer)
    except ValueError:
        return resp.status, {"detail": answer.decode(errors="replace")}


def context(**over: Any) -> dict[str, Any]:
    return {
        "customer_id": "cust-001",
        "items": [{"sku": SKU, "quantity": 1, "unit_price": 1950}],
        "total": 1950,
        "address": dict(ADDRESS),
        **over,
    }


def command(**over: Any) -> dict[str, Any]:
    return {
        "order_id": f"bad-{uuid.uuid4().hex[:12]}",
        "mode": "orchestration",
        "causation_id": "test",
        "order": context(),
        **over,
    }


def test_a_negative_total_is_not_charged(shop: Shop) -> None:
    """A -500 charge is a 422 naming order.total, and no payment record is written."""
    cmd = command(order=context(total=-500))
    status, answer, _ = http(
        "POST", f"{shop.payments}/commands/ChargePayment", cmd, shop.auth("payments")
    )
    assert status == 422, answer
    assert any(e["loc"] == ["body", "order", "total"] for e in answer["detail"]), answer
    assert shop.payment(cmd["order_id"]) is None


@pytest.mark.parametrize(
    "quantity",
    [-5, 0, True, 1.5, 2.0, "3"],
    ids=["negative", "zero", "bool", "fraction", "float", "string"],
)
def test_a_bad_quantity_holds_no_stock(shop: Shop, quantity: Any) -> None:
    """A hold of -5 units (or 0, true, 1.5, 2.0, "3") is a 422 and leaves the stock as it was."""
    shop.set_stock({SKU: 50})
    items = [{"sku": SKU, "quantity": quantity, "unit_price": 1950}]
    cmd = command(order=context(items=items))
    status, answer, _ = http(
        "POST", f"{shop.inventory}/commands/ReserveStock", cmd, shop.auth("inventory")
    )
    assert status == 422, answer
    assert any(e["loc"][-1] == "quantity" for e in answer["detail"]), answer
    assert shop.stock(SKU)["available"] == 50 and shop.stock(SKU)["holds"] == {}


@pytest.mark.parametrize(
    "order_id", ["", "x" * 129, "a||b", "o 1"], ids=["empty", "129 chars", "pipes", "space"]
)
def test_an_order_id_must_be_a_bounded_word(shop: Shop, order_id: str) -> None:
    """Ids become state keys: non-empty, at most 128 characters, no "||" (daprd refuses
    it in a key) and no blanks."""
    cmd = command(order_id=order_id)
    status, answer, _ = http(
        "POST", f"{shop.payments}/commands/ChargePayment", cmd, shop.auth("payments")
    )
    assert status == 422, answer
    assert any(e["loc"] == ["body", "order_id"] for e in answer["detail"]), answer


def test_a_1_mb_order_id_is_refused_by_the_body_limit(shop: Shop) -> None:
    """It was a 500; now the body is refused by its Content-Length, unread."""
    raw = json.dumps(command(order_id="x" * 1_000_000)).encode()
    status, answer = post_raw(
        f"{shop.payments}/commands/ChargePayment", raw, stop_after=0, headers=shop.auth("payments")
    )
    assert status == 413, (status, answer)
    assert "the limit is 65536" in answer["detail"]


NON_JSON_NUMBERS = {"NaN": b"NaN", "1e400": b"1e400", "Infinity": b"-Infinity"}


@pytest.mark.parametrize("number", NON_JSON_NUMBERS, ids=list(NON_JSON_NUMBERS))
def test_a_non_finite_quantity_is_a_422_at_orders(shop: Shop, number: str) -> None:
    raw = json.dumps(body(items=[{"sku": SKU, "quantity": 12345}])).encode()
    raw = raw.replace(b"12345", NON_JSON_NUMBERS[number])
    status, answer = post_raw(f"{shop.orders}/orders", raw)
    assert status == 422, (status, answer)
    assert any(e["loc"] == ["body", "items", 0, "quantity"] for e in answer["detail"]), answer


@pytest.mark.parametrize("number", NON_JSON_NUMBERS, ids=list(NON_JSON_NUMBERS))
def test_a_non_finite_total_is_a_422_at_payments(shop: Shop, number: str) -> None:
    raw = json.dumps(command(order=context(total=12345))).encode()
    raw = raw.replace(b"12345", NON_JSON_NUMBERS[number])
    status, answer = post_raw(
        f"{shop.payments}/commands/ChargePayment", raw, headers=shop.auth("payments")
    )
    assert status == 422, (status, answer)
    assert any(e["loc"] == ["body", "order", "total"] for e in answer["detail"]), answer


def test_a_boolean_quantity_is_not_one_at_orders(shop: Shop) -> None:
    status, answer, _ = http(
        "POST", f"{shop.orders}/orders", body(items=[{"sku": SKU, "quantity": True}])
    )
    assert status == 422, answer
    assert any(e["loc"] == ["body", "items", 0, "quantity"] for e in answer["detail"]), answer


def test_a_lone_surrogate_in_a_name_is_a_422_naming_it(shop: Shop) -> None:
    """JSON may escape half a UTF-16 pair ("\\ud800"); that is no text, and it must not
    reach the order (whose JSON could then not be written) nor crash the 422 echo."""
    seq = newest_seq(shop)
    raw = json.dumps(body(address={**ADDRESS, "name": "Ada \ud800"})).encode()
    assert b"\\ud800" in raw
    status, answer = post_raw(f"{shop.orders}/orders", raw)
    assert status == 422, (status, answer)
    assert any(e["loc"] == ["body", "address", "name"] for e in answer["detail"]), answer
    assert newest_seq(shop) == seq, "an order was created"


def test_a_lone_surrogate_in_a_command_is_a_422(shop: Shop) -> None:
    raw = json.dumps(command(causation_id="x\udc00")).encode()
    status, answer = post_raw(
        f"{shop.payments}/commands/ChargePayment", raw, headers=shop.auth("payments")
    )
    assert status == 422, (status, answer)


def test_a_chunked_oversize_body_is_refused_by_orders(shop: Shop) -> None:
    """The limit counts the bytes read, so a body without Content-Length is caught too."""
    raw = b"{" + b" " * 2_000_000 + b"}"
    status, answer = post_raw(f"{shop.orders}/orders", raw, chunked=True, stop_after=20_000)
    assert status == 413, (status, answer)
    assert "the limit is 16384" in answer["detail"]


@pytest.mark.parametrize("app", ["inventory", "payments", "shipping"])
def test_participants_refuse_oversize_bodies(shop: Shop, app: str) -> None:
    """20 MB with a Content-Length (refused before it is read), and 2 MB chunked (refused
    once the bytes read pass the limit): both 413 naming the limit."""
    base = getattr(shop, app)
    method = {
        "inventory": "ReserveStock",
        "payments": "ChargePayment",
        "shipping": "ScheduleShipment",
    }[app]
    url = f"{base}/commands/{method}"
    big = json.dumps(command(causation_id="x" * 20_000_000)).encode()
    status, answer = post_raw(url, big, stop_after=0, headers=shop.auth(app))
    assert status == 413, (status, str(answer)[:300])
    assert answer["detail"] == f"request body is {len(big)} bytes or more; the limit is 65536"
    status, answer = post_raw(
        url, big[:2_000_000], chunked=True, stop_after=70_000, headers=shop.auth(app)
    )
    assert status == 413, (status, str(answer)[:300])
    assert "the limit is 65536" in answer["detail"]


def _ping_route(base: str, auth: dict[str, str]) -> str:
    subs = http("GET", f"{base}/dapr/subscribe", headers=auth)[1]
    return next(s["route"] for s in subs if s["topic"] == "diagnostics")


@pytest.mark.parametrize("app", ["inventory", "payments", "shipping"])
def test_a_malformed_ping_is_dropped_not_failed(shop: Shop, app: str) -> None:
    """Dapr retries a 5xx for minutes; a payload no retry can fix is dropped at once, and
    the diagnostics subscription has the dead-letter topic to drop it to."""
    base = getattr(shop, app)
    subs = http("GET", f"{base}/dapr/subscribe", headers=shop.auth(app))[1]
    ping_sub = next(s for s in subs if s["topic"] == "diagnostics")
    assert ping_sub.get("deadLetterTopic") == "deadletters", ping_sub
    envelope = {"id": "x", "type": "diagnostics.Pinged.v1", "source": "t", "data": {"no": 1}}
    route = _ping_route(base, shop.auth(app))
    status, answer, _ = http("POST", f"{base}{route}", envelope, shop.auth(app))
    assert (status, answer) == (200, {"status": "DROP"})


def test_a_malformed_ping_reaches_the_dead_letters_at_once(shop: Shop) -> None:
    marker = uuid.uuid4().hex
    shop.publish("diagnostics", "diagnostics.Pinged.v1", {"bogus": marker})

    def listed() -> Any:
        letters = http("GET", f"{shop.orders}/dead-letters", headers=shop.auth("orders"))[1]
        found = [x for x in letters if x["data"].get("bogus") == marker]
        return found[0] if found else None

    eventually(listed, timeout=20, what="the malformed ping in /dead-letters")


def test_a_negative_workflow_timeout_is_a_422(shop: Shop) -> None:
    status, answer, _ = http(
        "POST", f"{shop.orders}/diagnostics/workflow?timeout_s=-1", headers=shop.auth("orders")
    )
    assert status == 422, answer
    assert any(e["loc"] == ["query", "timeout_s"] for e in answer["detail"]), answer

"""A request reaches an app only with its sidecar's token (header dapr-api-token), but for
liveness probes and the routes orders declares public; a refusal is one 401 for a missing or
a wrong token, says what to send and shows no token; the body of a refused request is never
read."""

import asyncio
import logging

import pytest
from pydantic import SecretStr
from starlette.types import Message

from daprshop_platform.auth import NO_TOKEN, PublicRoutes, SidecarToken
from inventory.settings import Settings as InventorySettings
from tests.unit import apps
from tests.unit.apps import SIDECAR
from tests.unit.asgi import call
from tests.unit.fakes import APP_TOKEN
from tests.unit.routes import concrete, operations

REFUSED = [
    pytest.param({}, id="none"),
    pytest.param({"dapr-api-token": ""}, id="empty"),
    pytest.param({"dapr-api-token": "wrong"}, id="wrong"),
    pytest.param({"dapr-api-token": APP_TOKEN[:-1]}, id="prefix"),
    pytest.param({"dapr-api-token": APP_TOKEN + "0"}, id="longer"),
    pytest.param([("dapr-api-token", APP_TOKEN), ("dapr-api-token", "wrong")], id="twice"),
    pytest.param({"x-admin-token": APP_TOKEN}, id="other-header"),
]
# What orders answers without a token: its customer API, what its page uses, and probes.
ORDERS_OPEN = {
    ("POST", "/orders"),
    ("GET", "/orders"),
    ("GET", "/orders/{order_id}"),
    ("GET", "/orders/{order_id}/status"),
    ("GET", "/healthz"),
    ("GET", "/healthz/workflow"),
}


@pytest.mark.parametrize("headers", REFUSED)
def test_a_participant_refuses_a_call_without_its_sidecars_token(
    headers: dict[str, str] | list[tuple[str, str]],
) -> None:
    """Missing, wrong or doubled: the same 401, which says what to send and shows no token."""
    answer = call(apps.inventory(), "GET", "/stock/SKU-001", headers)
    assert answer.status == 401
    assert answer.json() == {"detail": NO_TOKEN}
    assert "dapr-api-token" in NO_TOKEN and "APP_API_TOKEN" in NO_TOKEN
    assert APP_TOKEN[:-1] not in answer.raw


def test_the_sidecars_token_opens_a_participant_route() -> None:
    answer = call(apps.inventory(), "GET", "/stock/SKU-001", SIDECAR)
    assert answer.status == 200
    assert answer.json()["available"] == 5


@pytest.mark.parametrize("build", [apps.inventory, apps.payments])
def test_participants_declare_nothing_public(build: apps.Builder) -> None:
    """Commands, event deliveries, reads, admin, subscriptions and API docs: all 401."""
    app = build()
    documented = [(m, p) for m, p in operations(app) if not p.startswith("/healthz")]
    paths = {path for _, path in documented}
    assert {"/admin/faults", "/dapr/subscribe"}.issubset(paths)
    assert any(p.startswith("/commands/") for p in paths)
    assert any(p.startswith("/events/") for p in paths)
    hidden = [("GET", "/docs"), ("GET", "/openapi.json")]
    for method, path in documented + hidden:
        assert call(app, method, concrete(path)).status == 401, (method, path)


def test_orders_opens_its_customer_api_and_probes_only() -> None:
    """Every documented operation of orders is refused without a token unless it is open."""
    app = apps.orders()
    documented = set(operations(app))
    assert ORDERS_OPEN.issubset(documented)
    assert {("GET", "/orders/{order_id}/workflow"), ("GET", "/dead-letters")} <= documented
    for method, path in sorted(documented):
        status = call(app, method, concrete(path)).status
        assert (status != 401) == ((method, path) in ORDERS_OPEN), (method, path, status)


@pytest.mark.parametrize(
    ("method", "target", "status"),
    [
        ("GET", "/", 200),  # the saga page
        ("GET", "/docs", 200),
        ("GET", "/openapi.json", 200),
        ("GET", "/orders?mode=choreography&limit=25", 200),  # what the page lists
        ("GET", "/orders/nope", 404),  # what the page opens
        ("POST", "/orders", 422),
    ],
)
def test_orders_page_and_api_need_no_token(method: str, target: str, status: int) -> None:
    answer = call(apps.orders(), method, target, json_body={} if method == "POST" else None)
    assert answer.status == status


@pytest.mark.parametrize("build", [apps.inventory, apps.orders])
def test_liveness_probes_need_no_token(build: apps.Builder) -> None:
    """GET and HEAD of /healthz and below; not another method, nor a look-alike path."""
    app = build()
    assert call(app, "GET", "/healthz").status == 200
    assert call(app, "HEAD", "/healthz").status == 405  # let in; FastAPI routes no HEAD
    assert call(app, "GET", "/healthz/nothing-here").status == 404
    assert call(app, "POST", "/healthz").status == 401
    assert call(app, "GET", "/healthzz").status == 401


def test_a_refused_body_is_never_read() -> None:
    """The check comes before the body limit: 401 (not 413), and not a byte read."""
    big = b"x" * 1_000_000
    refused = call(apps.inventory(), "POST", "/commands/ReserveStock", body=big)
    assert refused.status == 401 and not refused.body_read
    limited = call(apps.inventory(), "POST", "/commands/ReserveStock", SIDECAR, body=big)
    assert limited.status == 413


def test_a_websocket_without_the_token_is_closed() -> None:
    async def app(scope: object, receive: object, send: object) -> None:
        raise AssertionError("the app was reached")

    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "websocket.connect"}

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {"type": "websocket", "path": "/ws", "headers": []}
    check = SidecarToken(app, SecretStr(APP_TOKEN), PublicRoutes())
    asyncio.run(check(scope, receive, send))
    assert sent == [{"type": "websocket.close", "code": 1008}]


@pytest.mark.parametrize("token", [None, SecretStr("")])
def test_the_check_never_runs_with_an_empty_token(token: SecretStr | None) -> None:
    with pytest.raises(ValueError, match="non-empty token"):
        SidecarToken(apps.inventory(), token, PublicRoutes())


def test_the_list_of_middleware_shows_no_token() -> None:
    assert APP_TOKEN not in repr(apps.inventory().user_middleware)


def test_the_api_docs_say_which_operations_need_the_token() -> None:
    schema = apps.orders().openapi()
    scheme = {"type": "apiKey", "in": "header", "name": "dapr-api-token"}
    assert schema["components"]["securitySchemes"]["sidecarToken"] == scheme
    assert "security" not in schema["paths"]["/orders"]["post"]
    closed = schema["paths"]["/dead-letters"]["get"]
    assert closed["security"] == [{"sidecarToken": []}] and "401" in closed["responses"]


def test_security_off_lets_any_caller_in_and_says_so(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.delenv("APP_API_TOKEN", raising=False)
    with caplog.at_level(logging.WARNING, logger="daprshop"):
        app = apps.inventory(settings=InventorySettings(DAPRSHOP_SECURITY="off"))
    assert call(app, "GET", "/stock/SKU-001").status == 200
    assert "DAPRSHOP_SECURITY=off" in caplog.text

"""Admin and operations endpoints also want X-Admin-Token, equal to the stack's admin-token
secret from the secret store; a refusal says what to send and shows no token; a store that
cannot answer is a 503 to retry, not a 500."""

import pytest

from daprshop_platform.auth import NO_TOKEN, NOT_ADMIN
from tests.unit import apps
from tests.unit.apps import SIDECAR
from tests.unit.asgi import Answer, call
from tests.unit.fakes import ADMIN_TOKEN, APP_TOKEN, FakeSecrets
from tests.unit.routes import concrete, operations

ADMIN = {**SIDECAR, "x-admin-token": ADMIN_TOKEN}
SET_STOCK = ("PUT", "/admin/stock")


def set_stock(headers: dict[str, str], secrets: FakeSecrets | None = None) -> Answer:
    app = apps.inventory(secrets)
    return call(app, *SET_STOCK, headers, json_body={"SKU-001": 2})


@pytest.mark.parametrize(
    "admin", [pytest.param(None, id="none"), "", "wrong", ADMIN_TOKEN[:-1], APP_TOKEN]
)
def test_admin_refuses_without_the_admin_token(admin: str | None) -> None:
    """The sidecar's token is not enough; nor is the app's token in X-Admin-Token."""
    headers = SIDECAR if admin is None else {**SIDECAR, "x-admin-token": admin}
    answer = set_stock(headers)
    assert answer.status == 401
    assert answer.json() == {"detail": NOT_ADMIN}
    assert "X-Admin-Token" in NOT_ADMIN and "admin-token" in NOT_ADMIN


def test_the_admin_token_opens_admin() -> None:
    answer = set_stock(ADMIN)
    assert answer.status == 200
    assert answer.json() == {"set": {"SKU-001": 2}}


def test_the_admin_token_alone_opens_nothing() -> None:
    """Without the sidecar's token the call stops before the admin check reads the store."""
    secrets = FakeSecrets()
    answer = set_stock({"x-admin-token": ADMIN_TOKEN}, secrets)
    assert answer.status == 401 and answer.json() == {"detail": NO_TOKEN}
    assert secrets.reads == 0


def test_reading_the_fault_plan_wants_the_admin_token() -> None:
    app = apps.payments()
    assert call(app, "GET", "/admin/faults", SIDECAR).json() == {"detail": NOT_ADMIN}
    assert call(app, "GET", "/admin/faults", ADMIN).status == 200


@pytest.mark.parametrize("build", [apps.inventory, apps.payments, apps.orders])
def test_every_admin_and_operations_endpoint_wants_the_admin_token(build: apps.Builder) -> None:
    app = build()
    guarded = [
        (m, p) for m, p in operations(app) if p.startswith(("/admin/", "/orders/{order_id}/"))
    ]
    guarded = [(m, p) for m, p in guarded if p != "/orders/{order_id}/status"]  # customers'
    assert ("GET", "/admin/faults") in guarded and ("PUT", "/admin/faults") in guarded
    if build is apps.orders:  # its operations: inspect and terminate a workflow
        assert ("GET", "/orders/{order_id}/workflow") in guarded
        assert ("POST", "/orders/{order_id}/workflow/terminate") in guarded
    for method, path in guarded:
        answer = call(app, method, concrete(path), SIDECAR)
        assert answer.status == 401 and answer.json() == {"detail": NOT_ADMIN}, (method, path)


def test_an_unreadable_secret_store_is_a_503_and_tried_again() -> None:
    secrets = FakeSecrets(down=True)
    answer = set_stock(ADMIN, secrets)
    assert answer.status == 503
    assert "admin-token" in answer.json()["detail"] and answer.header("retry-after")
    secrets.down = False
    assert set_stock(ADMIN, secrets).status == 200


def test_no_answer_shows_a_token() -> None:
    """Refused, wrong, right, store down: no status line, header or body holds a token."""
    answers = [
        set_stock({}),
        set_stock({"dapr-api-token": "wrong", "x-admin-token": "wrong"}),
        set_stock({**SIDECAR, "x-admin-token": "wrong"}),
        set_stock(ADMIN),
        set_stock(ADMIN, FakeSecrets(down=True)),
        call(apps.orders(), "POST", "/orders/x/workflow/terminate", SIDECAR),
        call(apps.orders(), "GET", "/dead-letters", {"x-admin-token": ADMIN_TOKEN}),
    ]
    assert [a.status for a in answers] == [401, 401, 401, 200, 503, 401, 401]
    for answer in answers:
        assert APP_TOKEN not in answer.raw and ADMIN_TOKEN not in answer.raw

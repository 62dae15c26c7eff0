"""The wiring through real sidecars: invocation, pub/sub fan-out, state, workflows."""

import json
import urllib.error
import urllib.request
from typing import Any

import pytest

from daprshop.runtime import pinned_version
from daprshop.stack import Stack
from tests.waiting import eventually

pytestmark = pytest.mark.e2e
PARTICIPANTS = ("inventory", "payments", "shipping")


def call(method: str, url: str, headers: dict[str, str] | None = None) -> tuple[int, Any]:
    req = urllib.request.Request(url, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            body = resp.read()
            return resp.status, json.loads(body) if body else None
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"null")


def test_sidecars_are_the_pinned_dapr_runtime(stack: Stack) -> None:
    """Every app's sidecar is a real daprd of the pinned version, with its app registered."""
    for app_id, urls in stack.urls().items():
        token = {"dapr-api-token": stack.credentials.api_tokens[app_id]}
        status, meta = call("GET", f"{urls['dapr']}/v1.0/metadata", token)
        assert status == 200
        assert meta["id"] == app_id
        assert meta["runtimeVersion"] == pinned_version()


@pytest.mark.parametrize("app_id", ["orders", *PARTICIPANTS])
def test_each_app_answers_through_its_own_sidecar(stack: Stack, app_id: str) -> None:
    """GET <sidecar>/v1.0/invoke/<app>/method/healthz reaches the app itself (an app may
    invoke itself: the access policies govern calls from other sidecars)."""
    dapr = stack.urls()[app_id]["dapr"]
    token = {"dapr-api-token": stack.credentials.api_tokens[app_id]}
    status, body = call("GET", f"{dapr}/v1.0/invoke/{app_id}/method/healthz", token)
    assert (status, body["app_id"]) == (200, app_id)


def test_orders_invokes_every_participant(stack: Stack) -> None:
    """orders reaches inventory, payments and shipping by service invocation."""
    status, body = call(
        "GET",
        f"{stack.urls()['orders']['app']}/diagnostics/dependencies",
        stack.credentials.operator_headers("orders"),
    )
    assert status == 200
    assert body["ok"] is True, body
    for app_id in PARTICIPANTS:
        assert body["participants"][app_id]["body"]["app_id"] == app_id


def test_an_event_published_by_orders_reaches_every_participant(stack: Stack) -> None:
    """One Pinged event, published once by orders, arrives at all three participants."""
    status, sent = call(
        "POST",
        f"{stack.urls()['orders']['app']}/diagnostics/pings",
        stack.credentials.operator_headers("orders"),
    )
    assert status == 202
    for app_id in PARTICIPANTS:
        url = f"{stack.urls()[app_id]['app']}/diagnostics/pings/{sent['ping_id']}"
        auth = stack.credentials.operator_headers(app_id)

        def arrived(url: str = url, auth: dict[str, str] = auth) -> Any:
            code, body = call("GET", url, auth)
            return body if code == 200 else None

        got = eventually(arrived, what=f"the ping to reach {app_id}")
        assert (got["ping_id"], got["sender"]) == (sent["ping_id"], "orders")


def test_unknown_ping_is_a_404_naming_the_app(stack: Stack) -> None:
    """Asking for a ping that was never sent says so, rather than returning an empty 200."""
    status, body = call(
        "GET",
        f"{stack.urls()['shipping']['app']}/diagnostics/pings/nope",
        stack.credentials.operator_headers("shipping"),
    )
    assert status == 404
    assert "shipping" in body["detail"]


def test_a_one_activity_workflow_runs_to_completion(stack: Stack) -> None:
    """The workflow engine in orders (placement, scheduler, actor state) completes a run."""
    status, body = call(
        "POST",
        f"{stack.urls()['orders']['app']}/diagnostics/workflow",
        stack.credentials.operator_headers("orders"),
    )
    assert status == 200, body
    assert body["runtime_status"] == "COMPLETED"
    output = json.loads(body["output"])
    assert output["instance_id"] == body["instance_id"]
    assert output["echoed"]["payload"] == {"hello": "workflow"}


def test_orders_serves_the_saga_page(stack: Stack) -> None:
    """GET / on orders is the page that shows orders per mode and each saga's steps."""
    with urllib.request.urlopen(f"{stack.urls()['orders']['app']}/", timeout=10) as resp:
        page = resp.read().decode()
    assert resp.status == 200 and "orders flowing, per mode" in page
    assert "orders?mode=" in page and "timeline" in page

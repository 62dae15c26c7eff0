"""One order's saga is one trace in Zipkin, in every mode: spans from all four apps under the
order's trace id, linked through each kind of hop the mode uses — pub/sub deliveries
(choreography, hybrid after its hand-off), service invocations and workflow activities
(orchestration, hybrid's core) — and the order links to it. tests/e2e/test_compose.py runs
the same tests on compose's stack (its `shop` and `traces` fixtures)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections import Counter
from typing import Any

import pytest

from daprshop.stack import Stack
from daprshop.topology import APP_IDS
from daprshop_contracts.events import Mode
from daprshop_contracts.saga import ORDER_SAGA
from tests.shop import ADDRESS, Shop, http
from tests.waiting import eventually

pytestmark = pytest.mark.e2e
MODES = ["choreography", "orchestration", "hybrid"]
SPANS_WITHIN_S = 45  # daprd exports its spans in batches, every 5 s (OpenTelemetry's default)


@pytest.fixture(scope="module")
def shop(stack: Stack) -> Shop:
    return Shop.of(stack)


@pytest.fixture(scope="module")
def traces(stack: Stack) -> str:
    """The stack's Zipkin: its API and UI."""
    return stack.traces_url()


def trace(traces: str, trace_id: str) -> list[dict[str, Any]]:
    """Every span Zipkin holds under `trace_id` (none yet: [])."""
    url = f"{traces}/api/v2/trace/{trace_id}"
    try:
        with urllib.request.urlopen(url, timeout=10) as resp:
            return list(json.load(resp))
    except urllib.error.HTTPError as err:
        if err.code == 404:
            return []
        raise


SAVE_STATE = "/dapr.proto.runtime.v1.dapr/savestate"


def expected(mode: str) -> set[tuple[str, str]]:
    """(service, span name) pairs the order's trace must hold, from the saga definition:
    each step run by events is a pub/sub delivery to its participant's sidecar; each step
    the workflow invokes is an activity in orders and a call its participant serves; and
    in every mode each participant's own state write (the app carried the context on)."""
    how = ORDER_SAGA.coordination(Mode(mode))
    want = {(step.participant, SAVE_STATE) for step in ORDER_SAGA.steps}
    for i, step in enumerate(ORDER_SAGA.steps):
        if how.by_events(i):
            want.add((step.participant, "pubsub/"))
        else:
            command = step.command.__name__.lower()
            want.add(("orders", "activity||call_participant"))
            want.add((step.participant, f"calllocal/{step.participant}/commands/{command}"))
    return want


def missing(spans: list[dict[str, Any]], mode: str) -> set[tuple[str, str]]:
    seen = {(s["localEndpoint"]["serviceName"], s["name"]) for s in spans}
    apps = {(app, "(any span)") for app in APP_IDS if app not in {svc for svc, _ in seen}}
    kinds = {(svc, name) for svc, name in expected(mode) if not _has(seen, svc, name)}
    return apps | kinds


def _has(seen: set[tuple[str, str]], service: str, name: str) -> bool:
    if name.endswith("/"):
        return any(svc == service and n.startswith(name) for svc, n in seen)
    return (service, name) in seen


def kind(name: str) -> str:
    """What a Dapr span is, by its name: pubsub/<topic>, calllocal/<app>/<method>,
    activity||<name>, /dapr.proto.runtime.v1.dapr/<api>, /taskhubsidecarservice/<api>..."""
    if name.startswith("/dapr.proto.runtime"):
        return "sidecar api"
    if name.startswith("/taskhubsidecarservice"):
        return "workflow api"
    return name.split("/")[0].split("||")[0]


def linked_trace(traces: str, trace_id: str, mode: str) -> list[dict[str, Any]]:
    def complete() -> list[dict[str, Any]] | None:
        spans = trace(traces, trace_id)
        return spans if not missing(spans, mode) else None

    try:
        return eventually(complete, timeout=SPANS_WITHIN_S, what=f"the {mode} order's trace")
    except pytest.fail.Exception:
        spans = trace(traces, trace_id)
        names = sorted({(s["localEndpoint"]["serviceName"], s["name"]) for s in spans})
        pytest.fail(
            f"trace {trace_id} ({len(spans)} spans) lacks {sorted(missing(spans, mode))}; "
            f"it has {names}"
        )


@pytest.mark.parametrize("mode", MODES)
def test_one_order_is_one_trace_across_all_four_apps(shop: Shop, traces: str, mode: str) -> None:
    placed = shop.place_ok([("SKU-001", 1)], mode=mode)
    order = shop.terminal(placed["order_id"])
    assert order["status"] == "COMPLETED", order
    trace_id = order["trace_id"]
    assert trace_id == placed["trace_id"] and len(trace_id) == 32
    assert order["trace_url"] == f"{traces}/zipkin/traces/{trace_id}"

    spans = linked_trace(traces, trace_id, mode)
    assert {s["traceId"] for s in spans} == {trace_id}
    per_app = Counter(s["localEndpoint"]["serviceName"] for s in spans)
    kinds = Counter(kind(s["name"]) for s in spans)
    print(f"\n{mode}: {len(spans)} spans in trace {trace_id}: {dict(per_app)}; {dict(kinds)}")


def test_an_order_joins_the_trace_its_client_sent(shop: Shop, traces: str) -> None:
    """A client's traceparent makes the order part of the client's trace."""
    trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"
    body = {
        "customer_id": "cust-001",
        "mode": "choreography",
        "items": [{"sku": "SKU-001", "quantity": 1}],
        "address": ADDRESS,
    }
    headers = {"traceparent": f"00-{trace_id}-00f067aa0ba902b7-01"}
    status, placed, _ = http("POST", f"{shop.orders}/orders", body, headers)
    assert status == 202, placed
    assert placed["trace_id"] == trace_id
    assert shop.terminal(placed["order_id"])["status"] == "COMPLETED"
    linked_trace(traces, trace_id, "choreography")


def test_a_malformed_traceparent_starts_a_new_trace(shop: Shop) -> None:
    """A header that is not W3C trace context is ignored, never a 5xx or a bad trace id."""
    body = {
        "customer_id": "cust-001",
        "items": [{"sku": "SKU-001", "quantity": 1}],
        "address": ADDRESS,
    }
    for bad in ("00-zz", "00-" + "0" * 32 + "-00f067aa0ba902b7-01", "x" * 5000):
        status, placed, _ = http("POST", f"{shop.orders}/orders", body, {"traceparent": bad})
        assert status == 202, placed
        assert len(placed["trace_id"]) == 32 and placed["trace_id"] not in bad

"""Trace context through the platform: a request's valid traceparent is the one every call
to the sidecar carries (HTTP header, gRPC metadata), also from a workflow activity's span and
across the hop onto the app's loop; invalid ones are ignored; orders shows the trace."""

import asyncio
import threading
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags
from starlette.types import Receive, Scope, Send

from daprshop_contracts.events import Event
from daprshop_contracts.saga import ORDER_SAGA
from daprshop_platform import tracing
from orders import domain, placing
from orders.deps import OrdersDeps
from orders.saga.activities import on_app_loop
from orders.settings import Settings
from tests.unit.asgi import call
from tests.unit.fakes import APP_TOKEN, FakePublisher, fake_platform

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT = f"00-{TRACE}-00f067aa0ba902b7-01"


@pytest.mark.parametrize(
    "value",
    [
        None,
        "",
        "00-zz",
        f"01-{TRACE}-00f067aa0ba902b7-01",  # a version we do not know
        f"00-{'0' * 32}-00f067aa0ba902b7-01",  # all-zero trace id
        f"00-{TRACE}-{'0' * 16}-01",  # all-zero parent id
        f"00-{TRACE.upper()}-00f067aa0ba902b7-01",
        PARENT + "-extra",
        "00-" + "é" * 40,
    ],
)
def test_an_invalid_traceparent_is_ignored(value: str | None) -> None:
    assert tracing.parse(value) is None


def test_a_valid_traceparent_is_kept_and_new_ones_are_valid() -> None:
    assert tracing.parse(PARENT) == PARENT and tracing.parse(PARENT.encode()) == PARENT
    fresh = tracing.new_traceparent()
    assert tracing.parse(fresh) == fresh and tracing.trace_id(fresh) != TRACE


def seen_by(headers: list[tuple[str, str]]) -> Any:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": (tracing.current() or "").encode()})

    return call(tracing.TraceContext(app), "POST", "/events/x", headers).body.decode()


def test_a_request_carries_its_traceparent_and_only_a_single_valid_one() -> None:
    assert seen_by([("traceparent", PARENT)]) == PARENT
    assert seen_by([("traceparent", "garbage")]) == ""
    assert seen_by([("traceparent", PARENT), ("traceparent", PARENT)]) == ""
    assert seen_by([]) == ""
    assert tracing.current() is None  # nothing leaks out of the request


def test_an_activity_span_is_the_parent_and_follows_onto_the_app_loop() -> None:
    """The SDK's worker runs an activity inside a span made from daprd's trace context; the
    activity's work, handed over to the app's loop, still sends it."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    span = NonRecordingSpan(SpanContext(int(TRACE, 16), 0x00F067AA0BA902B7, True, TraceFlags(1)))

    async def on_the_app_loop() -> dict[str, str]:
        return tracing.headers()

    async def activity() -> dict[str, str]:
        with trace.use_span(span):
            return await on_app_loop(loop, on_the_app_loop())

    try:
        assert asyncio.run(activity()) == {"traceparent": PARENT}
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        loop.close()


class Details:
    """grpc.aio's ClientCallDetails as far as the interceptor uses it."""

    def __init__(self, metadata: Any) -> None:
        self.metadata = metadata

    def _replace(self, metadata: Any) -> "Details":
        return Details(metadata)


def metadata_sent(metadata: Any) -> Any:
    async def continuation(details: Details, request: Any) -> Any:
        return details.metadata

    return asyncio.run(
        tracing.GrpcTraceparent().intercept_unary_unary(continuation, Details(metadata), None)
    )


def test_grpc_calls_carry_the_traceparent_as_metadata() -> None:
    token = ("dapr-api-token", "t")
    assert metadata_sent([token]) == [token]  # no trace: nothing added

    with tracing.joined(PARENT):
        assert metadata_sent(None) == [("traceparent", PARENT)]
        assert metadata_sent((token,)) == [token, ("traceparent", PARENT)]
        own = ("traceparent", tracing.new_traceparent())
        assert metadata_sent([own]) == [own]  # a caller's own is kept


def order(traceparent: str | None) -> domain.Order:
    return domain.Order(
        order_id="o1",
        seq=1,
        mode="choreography",
        customer_id="cust-001",
        items=[{"sku": "SKU-001", "quantity": 1, "unit_price": 4900}],
        total=4900,
        address={
            "name": "A",
            "line1": "B",
            "city": "C",
            "postal_code": "12",
            "country": "NL",
        },
        created_at="2026-01-01T00:00:00+00:00",
        updated_at="2026-01-01T00:00:00+00:00",
        fingerprint="f",
        traceparent=traceparent,
    )


def test_an_order_shows_its_trace_id_and_where_to_see_it() -> None:
    shown = domain.public(order(PARENT), "http://127.0.0.1:9411/")
    assert (shown["trace_id"], shown["trace_url"]) == (
        TRACE,
        f"http://127.0.0.1:9411/zipkin/traces/{TRACE}",
    )
    assert "traceparent" not in shown
    assert domain.public(order(PARENT))["trace_url"] is None  # no trace UI set: no link
    old = domain.public(order(None), "http://127.0.0.1:9411")  # placed before traces
    assert (old["trace_id"], old["trace_url"]) == (None, None)


def test_a_saga_start_runs_in_its_orders_trace() -> None:
    """The reconciler, or a client's retry in a trace of its own, starts the saga again:
    its OrderPlaced goes out in the order's trace."""
    platform = fake_platform("orders")
    seen: list[str | None] = []

    class Recording(FakePublisher):
        async def publish(self, event: Event) -> None:
            seen.append(tracing.current())

    platform.publisher = Recording(platform.store)
    deps = OrdersDeps(platform, Settings(app_api_token=APP_TOKEN), None, ORDER_SAGA)  # type: ignore[arg-type]

    async def restart() -> None:
        await placing.start_saga(order(PARENT), deps)  # the reconciler: no request
        with tracing.joined(tracing.new_traceparent()):  # a retry, in another trace
            await placing.start_saga(order(PARENT), deps)

    asyncio.run(restart())
    assert seen == [PARENT, PARENT]

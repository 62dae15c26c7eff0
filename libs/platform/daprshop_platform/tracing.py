"""W3C trace context through the apps, so one order's spans link up in one trace: the
`traceparent` a request came with (daprd sets it on every delivery and invocation) is kept
for that request, and every call the app makes to its sidecar sends it on (gRPC metadata,
HTTP header), which daprd reads as the parent of its own span.

The current traceparent is a context variable: set by `TraceContext` (ASGI) for a request, by
`joined` for work done for an order outside one, or, inside a workflow activity, taken from
the OpenTelemetry span the SDK's worker opens with the activity's trace context from daprd.
Context variables follow a coroutine onto another loop (run_coroutine_threadsafe copies them).
"""

import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from grpc import aio
from opentelemetry import trace
from starlette.types import ASGIApp, Receive, Scope, Send

HEADER = "traceparent"
# version 00 (the only one there is): trace id, parent span id, flags; ids not all zero
_FORMAT = re.compile(r"00-(?!0{32})([0-9a-f]{32})-(?!0{16})[0-9a-f]{16}-[0-9a-f]{2}")
_current: ContextVar[str | None] = ContextVar("traceparent", default=None)


def parse(value: str | bytes | None) -> str | None:
    """`value` if it is a valid traceparent, else None: a client's header is never trusted."""
    if isinstance(value, bytes):
        value = value.decode("latin-1")
    if value is None or _FORMAT.fullmatch(value) is None:
        return None
    return value


def new_traceparent() -> str:
    """The start of a new trace (sampled): random trace and span ids."""
    return f"00-{secrets.token_hex(16)}-{secrets.token_hex(8)}-01"


def trace_id(traceparent: str) -> str:
    return traceparent.split("-")[1]


def current() -> str | None:
    """The traceparent outgoing calls carry now, if any."""
    found = _current.get()
    if found is not None:
        return found
    span = trace.get_current_span().get_span_context()  # a workflow activity's, from daprd
    if not span.is_valid:
        return None
    return f"00-{span.trace_id:032x}-{span.span_id:016x}-{int(span.trace_flags):02x}"


@contextmanager
def joined(traceparent: str | None) -> Iterator[None]:
    """Calls made inside carry `traceparent` (None: leave the current one)."""
    if traceparent is None:
        yield
        return
    token = _current.set(traceparent)
    try:
        yield
    finally:
        _current.reset(token)


def headers() -> dict[str, str]:
    """The header of an HTTP call to the sidecar."""
    found = current()
    return {HEADER: found} if found else {}


class TraceContext:
    """Keeps a request's valid traceparent header as the current one while it is served."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        sent = [v for k, v in scope["headers"] if k == HEADER.encode()]
        with joined(parse(sent[0]) if len(sent) == 1 else None):
            await self.app(scope, receive, send)


# grpc ships no type stubs: its interceptor bases are Any to mypy
class GrpcTraceparent(aio.UnaryUnaryClientInterceptor, aio.UnaryStreamClientInterceptor):  # type: ignore[misc]
    """Adds the current traceparent to the metadata of each gRPC call to the sidecar; daprd
    reads it when no grpc-trace-bin is sent (pkg/diagnostics/grpc_tracing.go)."""

    def _details(self, details: Any) -> Any:
        found = current()
        metadata = list(details.metadata or ())
        if found is None or any(k == HEADER for k, _ in metadata):
            return details
        return details._replace(metadata=[*metadata, (HEADER, found)])

    async def intercept_unary_unary(self, continuation: Any, details: Any, request: Any) -> Any:
        return await continuation(self._details(details), request)

    async def intercept_unary_stream(self, continuation: Any, details: Any, request: Any) -> Any:
        return await continuation(self._details(details), request)

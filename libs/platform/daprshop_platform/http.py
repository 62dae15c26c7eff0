"""HTTP plumbing shared by the apps: a body limit on the bytes actually read, and error
answers that can always be written as JSON, whatever the client sent."""

import math
from itertools import islice
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from daprshop_contracts.events import CloudEvent

MAX_BODY_BYTES = 65_536  # participants' commands and admin bodies; orders' public API has less
EVENT_PATHS = "/events/"  # where daprd delivers pub/sub messages (CloudEvents envelopes)
MAX_EVENT_BYTES = 65_536  # an envelope of the largest event the contracts allow fits
ENVELOPE_SCHEMA = CloudEvent.model_json_schema()
MAX_ECHO_CHARS = 200
MAX_ECHO_ITEMS = 20
MAX_ECHO_DEPTH = 8


class BodyTooLarge(HTTPException):
    """Raised from `receive` once a body passes its limit: an HTTPException, so FastAPI's
    body parsing re-raises it as it is (any other error there becomes a 400)."""

    def __init__(self, limit: int, seen: int) -> None:
        super().__init__(413, f"request body is {seen} bytes or more; the limit is {limit}")


class BodyLimit:
    """Refuse oversize bodies: at once by Content-Length, and by counting the bytes read
    (chunked bodies have no length). Pure ASGI: the BaseHTTPMiddleware decorator cost ~1%
    of orders' CPU under load, see the benchmark doc."""

    def __init__(
        self, app: ASGIApp, max_bytes: int, max_event_bytes: int = MAX_EVENT_BYTES
    ) -> None:
        self.app, self.max_bytes, self.max_event_bytes = app, max_bytes, max_event_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        limit = self.max_event_bytes if path.startswith(EVENT_PATHS) else self.max_bytes
        length = dict(scope["headers"]).get(b"content-length", b"")
        if length.isdigit() and int(length) > limit:
            await _refuse(BodyTooLarge(limit, int(length)), scope, receive, send)
            return
        read, started = 0, False

        async def counted() -> Message:
            nonlocal read
            message = await receive()
            if message["type"] == "http.request":
                read += len(message.get("body", b""))
                if read > limit:
                    raise BodyTooLarge(limit, read)
            return message

        async def watched(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except BodyTooLarge as err:  # read outside FastAPI's handlers (e.g. a middleware)
            if started:
                raise
            await _refuse(err, scope, receive, send)


async def _refuse(err: BodyTooLarge, scope: Scope, receive: Receive, send: Send) -> None:
    response = JSONResponse(status_code=413, content={"detail": err.detail})
    await response(scope, receive, send)


def json_safe(value: Any, depth: int = 0) -> Any:
    """`value` made writable as strict JSON and short: non-finite numbers and lone
    surrogates spelt out, long strings and collections cut (a 422 echoes the input)."""
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)
    if isinstance(value, bytes):
        value = value.decode("utf-8", "backslashreplace")
    if isinstance(value, str):
        text = value.encode("utf-8", "backslashreplace").decode("utf-8")
        if len(text) > MAX_ECHO_CHARS:
            return f"{text[:MAX_ECHO_CHARS]}... ({len(text)} characters)"
        return text
    if isinstance(value, dict | list | tuple) and depth >= MAX_ECHO_DEPTH:
        return "..."
    if isinstance(value, dict):
        pairs = islice(value.items(), MAX_ECHO_ITEMS)
        out = {json_safe(str(k), depth + 1): json_safe(v, depth + 1) for k, v in pairs}
        if len(value) > MAX_ECHO_ITEMS:
            out["..."] = f"{len(value)} keys"
        return out
    if isinstance(value, list | tuple):
        kept = [json_safe(v, depth + 1) for v in value[:MAX_ECHO_ITEMS]]
        return kept + ([f"... ({len(value)} items)"] if len(value) > MAX_ECHO_ITEMS else [])
    if value is None or isinstance(value, bool | int | float):
        return value
    return json_safe(str(value), depth)


async def _invalid_request(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    return JSONResponse(status_code=422, content={"detail": json_safe(list(exc.errors()))})


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    safe = HTTPException(exc.status_code, json_safe(exc.detail), exc.headers)
    return await http_exception_handler(request, safe)


def _document_limits(app: FastAPI, max_body_bytes: int) -> None:
    """Every operation that takes a body documents the 413 the body limit answers; pub/sub
    routes, which read their envelope themselves, document it as their body."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = build()
            for path, operations in schema.get("paths", {}).items():
                limit = MAX_EVENT_BYTES if path.startswith(EVENT_PATHS) else max_body_bytes
                for operation in operations.values():
                    if path.startswith(EVENT_PATHS) and "requestBody" not in operation:
                        operation["requestBody"] = {
                            "required": True,
                            "content": {"application/json": {"schema": ENVELOPE_SCHEMA}},
                        }
                    if "requestBody" in operation:
                        operation["responses"].setdefault(
                            "413", {"description": f"Body larger than {limit} bytes"}
                        )
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def guard_inputs(app: FastAPI, max_body_bytes: int) -> None:
    """A body limit, and 4xx answers that stay valid JSON whatever the input was."""
    app.add_middleware(BodyLimit, max_bytes=max_body_bytes)
    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    _document_limits(app, max_body_bytes)

"""A request through an ASGI app in process, without sockets: Starlette's TestClient needs
httpx, which daprshop does not install."""

import asyncio
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from starlette.types import ASGIApp, Message


@dataclass(frozen=True)
class Answer:
    status: int
    headers: list[tuple[str, str]]
    body: bytes
    body_read: bool  # whether the app asked for the request's body

    def json(self) -> Any:
        return json.loads(self.body)

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k == name.lower()), None)

    @property
    def raw(self) -> str:
        """Everything the caller sees: status, headers and body, as text."""
        lines = [str(self.status), *(f"{k}: {v}" for k, v in self.headers)]
        return "\n".join([*lines, self.body.decode(errors="replace")])


def call(
    app: ASGIApp,
    method: str,
    target: str,
    headers: Mapping[str, str] | Sequence[tuple[str, str]] = (),
    body: bytes = b"",
    json_body: Any = None,
) -> Answer:
    """`method target` (path and query) with `headers` and `body` (or `json_body`)."""
    if json_body is not None:
        body, headers = (
            json.dumps(json_body).encode(),
            [*_pairs(headers), ("content-type", "application/json")],
        )
    path, _, query = target.partition("?")
    sent = [("content-length", str(len(body)))] if body else []
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": unquote(path),
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in [*_pairs(headers), *sent]],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    return asyncio.run(_run(app, scope, body))


def _pairs(headers: Mapping[str, str] | Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    return list(headers.items()) if isinstance(headers, Mapping) else list(headers)


async def _run(app: ASGIApp, scope: dict[str, Any], body: bytes) -> Answer:
    read, done = False, asyncio.Event()
    start: Message = {}
    chunks: list[bytes] = []

    async def receive() -> Message:
        nonlocal read
        if not read:
            read = True
            return {"type": "http.request", "body": body, "more_body": False}
        await done.wait()  # the client stays connected until the answer is complete
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        nonlocal start
        if message["type"] == "http.response.start":
            start = message
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                done.set()

    await app(scope, receive, send)
    headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in start["headers"]]
    return Answer(start["status"], headers, b"".join(chunks), read)

"""The invocation port's adapter: Dapr service invocation through the sidecar's HTTP API."""

import json
from typing import Any

import aiohttp

from daprshop_platform import tracing


class HttpInvoker:
    """Calls `<app>/method/<method>` through the sidecar on one shared aiohttp session (the
    SDK's HTTP invoker opens a new session per call). Returns the callee's status and JSON.
    `headers` go with every call: the sidecar's dapr-api-token, when it wants one; and the
    current traceparent, so the callee's spans join the caller's trace."""

    def __init__(
        self, dapr_http_port: int, timeout_s: float, headers: dict[str, str] | None = None
    ) -> None:
        self._base = f"http://127.0.0.1:{dapr_http_port}/v1.0/invoke"
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._headers = dict(headers or {})
        self._session: aiohttp.ClientSession | None = None

    async def call(
        self, app_id: str, method: str, payload: Any = None, verb: str = "POST"
    ) -> tuple[int, Any]:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self._timeout, headers=self._headers)
        url = f"{self._base}/{app_id}/method/{method}"
        headers = tracing.headers()
        async with self._session.request(verb, url, json=payload, headers=headers) as resp:
            body = await resp.read()
            try:
                return resp.status, json.loads(body) if body else None
            except ValueError:
                return resp.status, {"detail": body.decode(errors="replace")}

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

"""Whether orders' workflow engine is alive: the SDK worker holds its work-item stream AND
daprd has the workflow actor types registered (a stream can be open while daprd has dropped
them, and then every saga freezes). `GET /healthz/workflow` answers 503 when it is not."""

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, Protocol

import aiohttp
from fastapi import APIRouter
from fastapi.responses import JSONResponse

from daprshop_platform.settings import ServiceSettings


@dataclass(frozen=True)
class EngineHealth:
    worker_connected: bool  # the SDK's work-item stream is open
    actor_types_registered: bool  # daprd hosts the workflow and activity actor types
    connected_workers: int | None  # daprd's count of work-item streams (metadata API)
    reconnects: int = 0  # times the watchdog rebuilt the worker since start
    sidecar_restarts: int = 0  # times it asked daprd to shut down (to be restarted)
    error: str | None = None

    @property
    def healthy(self) -> bool:
        return self.worker_connected and self.actor_types_registered


def registered(metadata: dict[str, Any], app_id: str) -> bool:
    """Whether daprd's metadata lists this app's workflow and activity actor types."""
    types = {a.get("type", "") for a in metadata.get("actors") or []}
    needed = (f".{app_id}.workflow", f".{app_id}.activity")
    return all(any(t.startswith("dapr.internal.") and t.endswith(n) for t in types) for n in needed)


class SidecarError(Exception):
    """daprd answered an error. Not aiohttp's ClientResponseError: its repr holds the
    request's headers, dapr-api-token included, and this one ends up in /healthz/workflow."""


async def _sidecar(
    method: str, settings: ServiceSettings, path: str, timeout_s: float = 2.0
) -> Any:
    url = f"{settings.dapr_url}/v1.0/{path}"
    async with (
        aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout_s)) as session,
        session.request(method, url, headers=settings.sidecar_headers) as resp,
    ):
        if resp.status >= 400:
            raise SidecarError(f"daprd answered {resp.status} to {method} /v1.0/{path}")
        return await resp.json() if method == "GET" else None


async def sidecar_metadata(settings: ServiceSettings) -> dict[str, Any]:
    body: dict[str, Any] = await _sidecar("GET", settings, "metadata")
    return body


async def shutdown_sidecar(settings: ServiceSettings) -> None:
    """Ask daprd to shut down gracefully, so its supervisor starts a fresh one."""
    await _sidecar("POST", settings, "shutdown")


class HasHealth(Protocol):
    async def health(self) -> EngineHealth: ...


def router(engine: Callable[[], HasHealth | None]) -> APIRouter:
    routes = APIRouter(tags=["ops"])

    @routes.get(
        "/healthz/workflow",
        summary="The workflow engine: 200 if the worker is connected and daprd hosts the "
        "workflow actor types, else 503 (use for readiness and liveness probes)",
    )
    async def workflow_health() -> JSONResponse:
        worker = engine()
        if worker is None:
            return JSONResponse({"status": "starting"}, status_code=503)
        h = await worker.health()
        body = {"status": "ok" if h.healthy else "unhealthy", **asdict(h)}
        return JSONResponse(body, status_code=200 if h.healthy else 503)

    return routes

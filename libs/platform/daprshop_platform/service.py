"""The FastAPI app shell every service shares: at start-up it opens the Dapr client and builds
the `Platform` (the adapters behind the ports) and the service's own typed dependencies;
it serves `/healthz` and counters, takes calls only with its sidecar's token (but for the
routes the service declares public), and guards admin endpoints with the admin token.
Every call to the sidecar carries the traceparent of the request it serves (tracing.py)."""

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Annotated, Any, Generic, TypeVar

import grpc
from dapr.aio.clients import DaprClient
from dapr.ext.fastapi import DaprApp
from fastapi import Depends, FastAPI, Header, Request
from fastapi.responses import JSONResponse, Response

from daprshop_contracts import topics
from daprshop_contracts.saga import ORDER_SAGA, Saga
from daprshop_platform.auth import Route, check_admin, protect
from daprshop_platform.dapr_secrets import DaprSecrets
from daprshop_platform.dapr_state import DaprPublisher, DaprStateStore
from daprshop_platform.faults import FaultPlan
from daprshop_platform.http import MAX_BODY_BYTES, guard_inputs
from daprshop_platform.invoker import HttpInvoker
from daprshop_platform.ports import Invoker, Publisher, Secrets, StateStore
from daprshop_platform.settings import ServiceSettings
from daprshop_platform.state import KeyedLocks
from daprshop_platform.tracing import GrpcTraceparent, TraceContext

D = TypeVar("D")


@dataclass
class Platform:
    """What every service does I/O with, built once per process at start-up."""

    settings: ServiceSettings
    store: StateStore
    publisher: Publisher
    invoker: Invoker
    secrets: Secrets
    loop: asyncio.AbstractEventLoop  # the app's loop: its clients and locks belong to it
    saga: Saga = ORDER_SAGA
    locks: KeyedLocks = field(default_factory=KeyedLocks)
    faults: FaultPlan = field(default_factory=FaultPlan.from_env)
    stats: Counter[str] = field(default_factory=Counter)  # e.g. duplicates absorbed


@dataclass(frozen=True)
class Lifecycle(Generic[D]):
    """How a service builds its own dependencies from the platform, and closes them."""

    start: Callable[[Platform], Awaitable[D]]
    stop: Callable[[D], Awaitable[None]] | None = None


def platform_of(request: Request) -> Platform:
    platform: Platform = request.app.state.platform
    return platform


PlatformDep = Annotated[Platform, Depends(platform_of)]


def provider(kind: type[D]) -> Callable[[Request], D]:
    """A FastAPI dependency returning the service's typed dependencies."""

    def deps(request: Request) -> D:
        value = request.app.state.deps
        if not isinstance(value, kind):
            raise TypeError(f"app.state.deps is {type(value).__name__}, not {kind.__name__}")
        return value

    return deps


async def require_admin(
    platform: PlatformDep, x_admin_token: Annotated[str | None, Header()] = None
) -> None:
    await check_admin(platform.secrets, x_admin_token)


AdminDep = Depends(require_admin)
ADMIN_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"description": "Missing or wrong X-Admin-Token"},
    503: {"description": "The secret store holding admin-token cannot be read; retry"},
}


def service_app(
    settings: ServiceSettings,
    lifecycle: Lifecycle[Any],
    *,
    title: str,
    description: str,
    max_body_bytes: int = MAX_BODY_BYTES,
    public: Iterable[Route] = (),
) -> tuple[FastAPI, DaprApp]:
    """A service's app and its Dapr subscription helper; routes are added by the caller.
    Requests without the sidecar's token get a 401, but for /healthz probes and the `public`
    (method, path template) routes. Bodies above `max_body_bytes` (pub/sub deliveries:
    `MAX_EVENT_BYTES`) get a 413."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        client = DaprClient(
            address=f"127.0.0.1:{settings.dapr_grpc_port}", interceptors=[GrpcTraceparent()]
        )
        store = DaprStateStore(client, settings.statestore_name)
        topic = topics.topic_of(settings.app_id)
        invoker = HttpInvoker(
            settings.dapr_http_port, settings.invoke_timeout_s, settings.sidecar_headers
        )
        platform = Platform(
            settings,
            store,
            DaprPublisher(client, settings.pubsub_name, topic, store, settings.publish_via),
            invoker,
            DaprSecrets(client, settings.secret_store, settings.invoke_timeout_s),
            asyncio.get_running_loop(),
        )
        app.state.platform = platform
        app.state.deps = await lifecycle.start(platform)
        try:
            yield
        finally:
            if lifecycle.stop is not None:
                await lifecycle.stop(app.state.deps)
            await invoker.close()
            await client.close()

    app = FastAPI(title=title, description=description, lifespan=lifespan)
    guard_inputs(app, max_body_bytes)
    app.add_middleware(TraceContext)  # the request's traceparent goes on to the sidecar
    protect(app, settings, public)  # the last middleware added: it runs first
    app.add_exception_handler(grpc.RpcError, _sidecar_unavailable)
    dapr_app = DaprApp(app, router_tags=["events"])

    @app.get("/healthz", tags=["ops"], summary="Liveness of this app (not of its sidecar)")
    async def healthz() -> dict[str, str]:
        """`instance` tells the instances of one app-id apart (README, load balancing)."""
        return {"status": "ok", "app_id": settings.app_id, "instance": settings.instance}

    @app.get(
        "/diagnostics/stats",
        tags=["ops"],
        summary="Counters since start: events handled, duplicates absorbed, refusals",
    )
    async def stats(platform: PlatformDep) -> dict[str, int]:
        return dict(platform.stats)

    return app, dapr_app


async def _sidecar_unavailable(request: Request, exc: Exception) -> Response:
    """The sidecar restarting (or its gRPC channel reconnecting) is a 503 to retry, not a
    500; any other gRPC failure stays an error."""
    code = exc.code() if isinstance(exc, grpc.RpcError) and hasattr(exc, "code") else None
    if code not in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
        raise exc
    detail = f"this service's Dapr sidecar is unavailable ({code.name}); retry in a moment"
    return JSONResponse(status_code=503, content={"detail": detail}, headers={"Retry-After": "1"})

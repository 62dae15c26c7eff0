"""Zero trust by default: a request reaches an app only with its sidecar's token (header
dapr-api-token = APP_API_TOKEN), unless it is a liveness probe or a route the service declares
public; admin endpoints also want X-Admin-Token, the stack's `admin-token` secret."""

import hmac
import logging
from collections.abc import Iterable
from typing import Any

from fastapi import FastAPI, HTTPException
from fastapi.responses import JSONResponse
from pydantic import SecretStr
from starlette.routing import compile_path
from starlette.types import ASGIApp, Receive, Scope, Send

from daprshop_platform.ports import Secrets, SecretUnavailable
from daprshop_platform.settings import ServiceSettings

log = logging.getLogger("daprshop")
Route = tuple[str, str]  # (method, path template), e.g. ("GET", "/orders/{order_id}")
ADMIN_SECRET = "admin-token"
NO_TOKEN = (
    "this endpoint answers this app's Dapr sidecar only: send the dapr-api-token header "
    "holding the app's APP_API_TOKEN (see docs/security.md)"
)
NOT_ADMIN = (
    "admin endpoint: send the X-Admin-Token header holding this stack's admin-token secret "
    "(see docs/security.md)"
)


class PublicRoutes:
    """What needs no token: GET and HEAD of /healthz and /healthz/... (probes cannot carry
    secrets, and reveal only liveness), and the routes a service declares public (a GET
    route admits HEAD too, as Starlette's routing does)."""

    def __init__(self, routes: Iterable[Route] = ()) -> None:
        self._routes = [(method.upper(), compile_path(path)[0]) for method, path in routes]

    def admit(self, method: str, path: str) -> bool:
        method = "GET" if method == "HEAD" else method
        if method == "GET" and (path == "/healthz" or path.startswith("/healthz/")):
            return True
        return any(m == method and pattern.match(path) for m, pattern in self._routes)


class SidecarToken:
    """401 to any request whose single dapr-api-token header is not `token` (compared in
    constant time) and that `public` does not admit; missing and wrong tokens get the same
    answer. Pure ASGI, outside the body limit: a refused request's body is never read."""

    def __init__(self, app: ASGIApp, token: SecretStr | None, public: PublicRoutes) -> None:
        # a SecretStr: the app's list of middleware shows the arguments of each
        self._token = token.get_secret_value().encode() if token else b""
        if not self._token:
            raise ValueError("the sidecar token check needs a non-empty token")
        self.app, self._public = app, public

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or self._admits(scope):
            await self.app(scope, receive, send)
        elif scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})  # policy violation
        else:
            await JSONResponse({"detail": NO_TOKEN}, status_code=401)(scope, receive, send)

    def _admits(self, scope: Scope) -> bool:
        sent = [value for name, value in scope["headers"] if name == b"dapr-api-token"]
        if len(sent) == 1 and hmac.compare_digest(sent[0], self._token):
            return True
        return scope["type"] == "http" and self._public.admit(scope["method"], scope["path"])


def protect(app: FastAPI, settings: ServiceSettings, public: Iterable[Route]) -> None:
    """Check the sidecar's token on every request; call it after adding every other
    middleware, so that the check runs first. DAPRSHOP_SECURITY=off skips it, with a warning."""
    if settings.security == "off":
        log.warning(
            "DAPRSHOP_SECURITY=off: %s does not check its sidecar's dapr-api-token; every "
            "route is open to anyone who can reach port %d",
            settings.app_id,
            settings.app_port,
        )
        return
    routes = PublicRoutes(public)
    app.add_middleware(SidecarToken, token=settings.app_api_token, public=routes)
    _document(app, routes)


async def check_admin(secrets: Secrets, given: str | None) -> None:
    """401 unless `given` is the admin-token secret (constant time); 503 if the secret store
    cannot say what it is."""
    if not given:
        raise HTTPException(401, NOT_ADMIN)
    try:
        expected = await secrets.get(ADMIN_SECRET)
    except SecretUnavailable as err:
        log.warning("cannot check an X-Admin-Token: %s", err)
        raise HTTPException(
            503, f"cannot check X-Admin-Token now: {err}; retry", headers={"Retry-After": "5"}
        ) from err
    if not hmac.compare_digest(given.encode(), expected.encode()):
        raise HTTPException(401, NOT_ADMIN)


def _document(app: FastAPI, public: PublicRoutes) -> None:
    """OpenAPI: the token as an API key scheme on each operation that needs it, and its 401."""
    build = app.openapi
    scheme = {"type": "apiKey", "in": "header", "name": "dapr-api-token"}
    refused = "dapr-api-token missing or wrong (the app's APP_API_TOKEN)"

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = build()
            schema.setdefault("components", {}).setdefault("securitySchemes", {})
            schema["components"]["securitySchemes"]["sidecarToken"] = scheme
            for path, operations in schema.get("paths", {}).items():
                for method, operation in operations.items():
                    if public.admit(method.upper(), path):
                        continue
                    operation["security"] = [{"sidecarToken": []}]
                    answer = operation["responses"].setdefault("401", {"description": refused})
                    if refused not in answer["description"]:  # e.g. the admin token's 401
                        answer["description"] += f"; or {refused}"
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]

"""HTTP plumbing shared by the apps."""

from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send


class BodyLimit:
    """Refuse oversize bodies before parsing them (pure ASGI: the BaseHTTPMiddleware
    decorator cost ~1% of orders' CPU under load, see the benchmark doc)."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            length = dict(scope["headers"]).get(b"content-length", b"")
            if length.isdigit() and int(length) > self.max_bytes:
                detail = f"request body is {int(length)} bytes; the limit is {self.max_bytes}"
                await JSONResponse(status_code=413, content={"detail": detail})(
                    scope, receive, send
                )
                return
        await self.app(scope, receive, send)

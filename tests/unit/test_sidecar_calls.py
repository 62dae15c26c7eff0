"""Every direct HTTP call of ours to the sidecar sends DAPR_API_TOKEN in dapr-api-token when
one is set (service invocation, orders' engine health checks and its sidecar shutdown), and
no such header when none is; an error answer from daprd does not carry the token on."""

import asyncio
from types import TracebackType
from typing import Any, ClassVar

import aiohttp
import pytest

from daprshop_platform.invoker import HttpInvoker
from daprshop_platform.settings import ServiceSettings
from orders import health
from tests.unit.fakes import APP_TOKEN

DAPR_TOKEN = "unit-dapr-token-0c9b7a"


class FakeSession:
    """aiohttp.ClientSession as far as our calls use it: records what each request sends."""

    sent: ClassVar[list[tuple[str, str, dict[str, str]]]] = []

    def __init__(self, headers: dict[str, str] | None = None, **_: Any) -> None:
        self.headers = dict(headers or {})

    def request(self, method: str, url: str, headers: Any = None, **_: Any) -> "FakeSession":
        FakeSession.sent.append((method, url, {**self.headers, **(headers or {})}))
        return self

    status = 200

    async def read(self) -> bytes:
        return b"{}"

    async def json(self) -> Any:
        return {}

    async def close(self) -> None:
        pass

    async def __aenter__(self) -> "FakeSession":
        return self

    async def __aexit__(self, *exc: type[BaseException] | BaseException | TracebackType) -> None:
        pass


@pytest.fixture(autouse=True)
def sessions(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str, dict[str, str]]]:
    FakeSession.sent = []
    monkeypatch.setattr(aiohttp, "ClientSession", FakeSession)
    return FakeSession.sent


def settings(dapr_token: str | None) -> ServiceSettings:
    return ServiceSettings(
        app_id="orders", app_api_token=APP_TOKEN, dapr_api_token=dapr_token, dapr_http_port=3999
    )


async def every_call(s: ServiceSettings) -> None:
    invoker = HttpInvoker(s.dapr_http_port, 1.0, s.sidecar_headers)
    await invoker.call("inventory", "catalogue", verb="GET")
    await invoker.close()
    await health.sidecar_metadata(s)
    await health.shutdown_sidecar(s)


def test_every_sidecar_call_sends_dapr_api_token(
    sessions: list[tuple[str, str, dict[str, str]]],
) -> None:
    asyncio.run(every_call(settings(DAPR_TOKEN)))
    assert [(m, u) for m, u, _ in sessions] == [
        ("GET", "http://127.0.0.1:3999/v1.0/invoke/inventory/method/catalogue"),
        ("GET", "http://127.0.0.1:3999/v1.0/metadata"),
        ("POST", "http://127.0.0.1:3999/v1.0/shutdown"),
    ]
    assert all(h.get("dapr-api-token") == DAPR_TOKEN for _, _, h in sessions)


def test_no_dapr_api_token_no_header(sessions: list[tuple[str, str, dict[str, str]]]) -> None:
    asyncio.run(every_call(settings(None)))
    assert len(sessions) == 3
    assert all("dapr-api-token" not in h for _, _, h in sessions)


@pytest.mark.parametrize("status", [401, 500])
def test_a_sidecar_error_does_not_carry_the_token(
    monkeypatch: pytest.MonkeyPatch, status: int
) -> None:
    """The error orders shows at /healthz/workflow (open to probes) and logs."""
    monkeypatch.setattr(FakeSession, "status", status)
    with pytest.raises(health.SidecarError, match=f"{status} to GET /v1.0/metadata") as err:
        asyncio.run(health.sidecar_metadata(settings(DAPR_TOKEN)))
    assert DAPR_TOKEN not in repr(err.value) and DAPR_TOKEN not in str(err.value)

"""The secrets port's Dapr adapter reads a secret on first use and keeps it; a store that
fails, hangs, or has no value for the secret is SecretUnavailable, and asked again next time."""

import asyncio
from types import SimpleNamespace
from typing import Any

import grpc
import pytest

from daprshop_platform.dapr_secrets import DaprSecrets
from daprshop_platform.ports import SecretUnavailable

STORE = "daprshop-secrets"


class Unavailable(grpc.RpcError):
    def code(self) -> grpc.StatusCode:
        return grpc.StatusCode.UNAVAILABLE


class StubClient:
    """DaprClient.get_secret answering from a script: a dict (the secret) or an exception."""

    def __init__(self, *answers: dict[str, str] | Exception) -> None:
        self.answers, self.calls = list(answers), list[tuple[str, str]]()

    async def get_secret(self, store: str, key: str) -> Any:
        self.calls.append((store, key))
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return SimpleNamespace(secret=answer)


def secrets(client: StubClient, timeout_s: float = 1.0) -> DaprSecrets:
    return DaprSecrets(client, STORE, timeout_s)


def test_a_secret_is_read_on_first_use_and_kept() -> None:
    client = StubClient({"admin-token": "s3cret"})
    adapter = secrets(client)
    assert client.calls == []
    assert asyncio.run(adapter.get("admin-token")) == "s3cret"
    assert asyncio.run(adapter.get("admin-token")) == "s3cret"
    assert client.calls == [(STORE, "admin-token")]


def test_a_store_that_fails_is_unavailable_and_asked_again() -> None:
    client = StubClient(Unavailable(), {"admin-token": "s3cret"})
    adapter = secrets(client)
    with pytest.raises(SecretUnavailable, match=f"'admin-token'.*'{STORE}'.*UNAVAILABLE"):
        asyncio.run(adapter.get("admin-token"))
    assert asyncio.run(adapter.get("admin-token")) == "s3cret"


@pytest.mark.parametrize("secret", [{}, {"admin-token": ""}, {"other": "s3cret"}])
def test_no_value_for_the_secret_is_unavailable(secret: dict[str, str]) -> None:
    """Also an empty one: an empty admin token would admit an empty header."""
    with pytest.raises(SecretUnavailable, match="no value"):
        asyncio.run(secrets(StubClient(secret)).get("admin-token"))


def test_a_store_that_hangs_is_unavailable() -> None:
    class Hanging(StubClient):
        async def get_secret(self, store: str, key: str) -> Any:
            await asyncio.Event().wait()

    with pytest.raises(SecretUnavailable, match="no answer"):
        asyncio.run(secrets(Hanging(), timeout_s=0.01).get("admin-token"))

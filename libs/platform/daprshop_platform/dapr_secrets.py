"""The secrets port's Dapr adapter: one secret store component, read through the SDK client."""

import asyncio

import grpc
from dapr.aio.clients import DaprClient
from dapr.clients.exceptions import DaprInternalError

from daprshop_platform.ports import SecretUnavailable


class DaprSecrets:
    """Each secret is the key of the same name in the store, read on first use and kept
    (a failure is not kept: the next use asks the store again)."""

    def __init__(self, client: DaprClient, store: str, timeout_s: float) -> None:
        self._client, self.store, self._timeout_s = client, store, timeout_s
        self._kept: dict[str, str] = {}

    async def get(self, name: str) -> str:
        if name not in self._kept:
            self._kept[name] = await self._read(name)
        return self._kept[name]

    async def _read(self, name: str) -> str:
        where = f"secret {name!r} of Dapr secret store {self.store!r}"
        try:
            async with asyncio.timeout(self._timeout_s):
                resp = await self._client.get_secret(self.store, name)
        except TimeoutError as err:
            raise SecretUnavailable(f"{where}: no answer in {self._timeout_s:g}s") from err
        except (grpc.RpcError, DaprInternalError) as err:
            code = getattr(err, "code", None)
            why = code().name if callable(code) else type(err).__name__
            raise SecretUnavailable(f"{where} could not be read ({why})") from err
        value = resp.secret.get(name)
        if not value:  # an empty admin token would let an empty header in
            raise SecretUnavailable(f"{where} has no value under the key {name!r}")
        return value

"""One service's state through its real sidecar and Redis: ETags guard every write."""

import asyncio
import json
import urllib.request

import pytest
from dapr.aio.clients import DaprClient
from dapr.conf import settings as dapr_settings

from daprshop.stack import Stack
from daprshop_platform.dapr_state import DaprStateStore
from daprshop_platform.ports import ETagMismatch

pytestmark = pytest.mark.integration


def test_a_write_with_a_stale_etag_is_refused(
    inventory_alone: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two writers read the same version; the second to write is refused, not lost."""
    ports = inventory_alone.topo.apps["inventory"]
    grpc_port = ports.grpc
    # The SDK client probes the sidecar's HTTP health endpoint from its global settings.
    monkeypatch.setattr(dapr_settings, "DAPR_HTTP_PORT", ports.http)
    token = inventory_alone.credentials.api_tokens["inventory"]
    monkeypatch.setattr(dapr_settings, "DAPR_API_TOKEN", token)

    async def scenario() -> tuple[object, object]:
        async with DaprClient(address=f"127.0.0.1:{grpc_port}") as client:
            store = DaprStateStore(client, "inventory-store")
            await store.save("sku:TEST-1", {"available": 10})
            _, etag = await store.get("sku:TEST-1")
            assert etag is not None
            await store.save("sku:TEST-1", {"available": 9}, etag=etag)  # first writer wins
            with pytest.raises(ETagMismatch):
                await store.save("sku:TEST-1", {"available": 8}, etag=etag)  # stale
            value, new_etag = await store.get("sku:TEST-1")
            return value, new_etag != etag

    value, etag_moved = asyncio.run(scenario())
    assert value == {"available": 9}
    assert etag_moved


def test_the_sidecar_reaches_its_app(inventory_alone: Stack) -> None:
    """Service invocation through the single sidecar reaches inventory's /healthz."""
    dapr = inventory_alone.urls()["inventory"]["dapr"]
    req = urllib.request.Request(
        f"{dapr}/v1.0/invoke/inventory/method/healthz",
        headers={"dapr-api-token": inventory_alone.credentials.api_tokens["inventory"]},
    )
    with urllib.request.urlopen(req, timeout=10) as r:
        assert json.loads(r.read())["app_id"] == "inventory"

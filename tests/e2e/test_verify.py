"""`daprshop verify` against the running test stack: it passes on healthy state and fails,
naming the order, when state is corrupted behind the services' backs."""

import json
import subprocess
import sys
import urllib.parse

import pytest

from daprshop.stack import Stack
from tests.shop import Shop, http

pytestmark = pytest.mark.e2e
SKU = "SKU-008"


@pytest.fixture(scope="module")
def shop(stack: Stack) -> Shop:
    return Shop(stack)


def run_verify(shop: Shop) -> subprocess.CompletedProcess[str]:
    args = [
        f"--{app}-url={getattr(shop, app)}"
        for app in ("orders", "inventory", "payments", "shipping")
    ]
    return subprocess.run(
        [sys.executable, "-m", "daprshop.cli", "verify", "--deadline", "60", *args],
        capture_output=True,
        text=True,
        timeout=180,
    )


def test_verify_passes_on_a_healthy_run(shop: Shop) -> None:
    shop.set_stock({SKU: 30})
    for mode in ("choreography", "orchestration", "hybrid"):
        shop.place_ok([(SKU, 1)], mode=mode)
        shop.place_ok([(SKU, 1)], mode=mode, country="AQ")
    result = run_verify(shop)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "all invariants hold" in result.stdout


def test_verify_fails_naming_the_order_whose_refund_was_deleted(shop: Shop) -> None:
    order = shop.terminal(shop.place_ok([(SKU, 1)], country="AQ")["order_id"])
    oid = order["order_id"]
    state = f"{shop.sidecar['payments']}/v1.0/state/payments-store"
    key = urllib.parse.quote(f"payment:{oid}")

    def overwrite(value: dict) -> None:
        _, _, headers = http("GET", f"{state}/{key}")
        status, body, _ = http(
            "POST", state, [{"key": f"payment:{oid}", "value": value, "etag": headers["etag"]}]
        )
        assert status == 204, body

    _, original, _ = http("GET", f"{state}/{key}")
    overwrite({**original, "refunded": 0, "refunds": []})
    try:
        result = run_verify(shop)
    finally:
        overwrite(original)
    assert result.returncode == 1, result.stdout
    assert f"order {oid} CANCELLED: charged {order['total']} - refunded 0" in result.stdout
    assert run_verify(shop).returncode == 0


def test_verify_reports_json_for_machines(shop: Shop) -> None:
    args = [
        f"--{app}-url={getattr(shop, app)}"
        for app in ("orders", "inventory", "payments", "shipping")
    ]
    out = subprocess.run(
        [sys.executable, "-m", "daprshop.cli", "verify", "--json", *args],
        capture_output=True,
        text=True,
        timeout=180,
        check=True,
    )
    report = json.loads(out.stdout)
    assert report["violations"] == [] and report["orders"] > 0

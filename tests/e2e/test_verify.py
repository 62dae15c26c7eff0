"""`daprshop verify` against the running test stack: it passes on healthy state and fails,
naming the order, when state is corrupted behind the services' backs or a participant has an
effect for an order that orders does not know (an orphan)."""

import json
import os
import subprocess
import sys
import urllib.parse
import uuid

import pytest

from daprshop.stack import Stack
from daprshop_contracts.commands import ChargePayment
from daprshop_contracts.events import Address, Line, Mode, OrderContext
from tests.shop import Shop, http

pytestmark = pytest.mark.e2e
SKU = "SKU-008"


@pytest.fixture(scope="module")
def shop(stack: Stack) -> Shop:
    return Shop.of(stack)


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
        env={**os.environ, "DAPRSHOP_RUN_DIR": str(shop.workdir)},
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

    as_payments = shop.as_app("payments")  # behind the services' backs, with its token

    def overwrite(value: dict) -> None:
        _, _, headers = http("GET", f"{state}/{key}", headers=as_payments)
        status, body, _ = http(
            "POST",
            state,
            [{"key": f"payment:{oid}", "value": value, "etag": headers["etag"]}],
            as_payments,
        )
        assert status == 204, body

    _, original, _ = http("GET", f"{state}/{key}", headers=as_payments)
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
        env={**os.environ, "DAPRSHOP_RUN_DIR": str(shop.workdir)},
    )
    report = json.loads(out.stdout)
    assert report["violations"] == [] and report["orders"] > 0


def test_verify_reports_an_orphan_charge_and_fails(shop: Shop) -> None:
    """A charge made by invoking payments directly (through orders' sidecar, as the
    orchestrator would) for an order id orders never saw: verify names it and exits 1."""
    oid = f"ghost-{uuid.uuid4().hex[:8]}"
    charge = ChargePayment(
        order_id=oid,
        mode=Mode.ORCHESTRATION,
        order=OrderContext(
            customer_id="cust-001",
            items=(Line(sku=SKU, quantity=1, unit_price=1234),),
            total=1234,
            address=Address(name="A", line1="1 Way", city="Utrecht", postal_code="1", country="NL"),
        ),
    )
    invoke = f"{shop.sidecar['orders']}/v1.0/invoke/payments/method/commands/ChargePayment"
    status, body, _ = http("POST", invoke, charge.model_dump(mode="json"), shop.as_app("orders"))
    assert status == 200, body
    try:
        result = run_verify(shop)
    finally:  # the session's stack is shared: leave no orphan for later tests
        key = urllib.parse.quote(f"payment:{oid}")
        http(
            "DELETE",
            f"{shop.sidecar['payments']}/v1.0/state/payments-store/{key}",
            headers=shop.as_app("payments"),
        )
    assert result.returncode == 1, result.stdout
    assert (
        f"orphan: order {oid} is unknown to orders but has a charge of 1234, refunded 0"
        " (payments)" in result.stdout
    )
    assert run_verify(shop).returncode == 0

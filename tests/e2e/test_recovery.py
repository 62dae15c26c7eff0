"""No order stays PENDING: orders crashes (kill -9, by its fault plan) right after it saved
an order and before it started the saga, and the order still completes, in every mode,
without the client retrying: the reconciler finds it PENDING and starts it again."""

import http.client
import os
import signal
import uuid

import pytest

from daprshop.stack import Stack
from orders.placing import order_id_for
from orders.schemas import OrderCreate
from tests.conftest import RECONCILE_AFTER_S, REDRIVE_AFTER_S
from tests.shop import ADDRESS, Shop

pytestmark = pytest.mark.e2e
SKUS = {"choreography": "SKU-014", "orchestration": "SKU-015", "hybrid": "SKU-016"}


@pytest.fixture(scope="module")
def shop(stack: Stack) -> Shop:
    s = Shop.of(stack)
    s.set_stock({sku: 10 for sku in SKUS.values()})
    return s


@pytest.mark.parametrize("mode", list(SKUS))
def test_a_crash_between_the_save_and_the_saga_start_is_recovered_without_a_client_retry(
    stack: Stack, shop: Shop, mode: str
) -> None:
    key, sku = uuid.uuid4().hex, SKUS[mode]
    request = {
        "customer_id": "cust-001",
        "mode": mode,
        "items": [{"sku": sku, "quantity": 1}],
        "address": ADDRESS,
    }
    order_id = order_id_for(OrderCreate.model_validate(request), key)
    before = stack.procs["orders"].restarts.total
    shop.faults("orders", {"PlaceOrder": {"crash_after": True, "times": 1}})
    with pytest.raises((OSError, http.client.HTTPException)):  # the connection dies with orders
        shop.place([(sku, 1)], mode=mode, key=key)
    stack.wait_restarted("orders", after=before, timeout=60)
    assert shop.order(order_id)["status"] == "PENDING"  # saved; its start was lost
    order = shop.terminal(order_id, timeout=RECONCILE_AFTER_S + 45)
    assert (order["status"], order["reason"]) == ("COMPLETED", None)
    assert shop.stats("orders")["saga_starts_recovered"] >= 1  # counted by the new process
    shop.assert_conserved([order], sku, 10)


def test_a_hung_process_fails_its_liveness_probe_and_is_restarted(stack: Stack) -> None:
    """A process that lives on but no longer answers (SIGSTOP here; orders with a dead
    workflow worker in the field) is killed after failed health checks and restarted."""
    proc = stack.procs["shipping"]
    assert proc.popen is not None
    before = proc.restarts.total
    os.kill(proc.popen.pid, signal.SIGSTOP)
    stack.wait_restarted(
        "shipping",
        after=before,
        timeout=stack.liveness.every_s * (stack.liveness.failures + 2) + 30,
    )
    assert proc.last_exit is not None and "health checks in a row" in proc.last_exit


def test_a_lost_event_does_not_leave_a_choreographed_order_stuck(shop: Shop) -> None:
    """orders never gets PaymentCharged (acknowledged unrecorded, as seen in the field): the
    order stands still at STOCK_RESERVED until the reconciler drives it again; each step then
    re-publishes its recorded outcome, and the order completes, charged and shipped once."""
    sku = "SKU-018"
    shop.set_stock({sku: 10})
    shop.faults("orders", {"PaymentCharged": {"lose": True, "times": 1}})
    oid = shop.place_ok([(sku, 1)])["order_id"]
    order = shop.terminal(oid, timeout=REDRIVE_AFTER_S + 30)
    assert (order["status"], order["reason"]) == ("COMPLETED", None)
    assert shop.stats("orders")["events_lost_by_fault"] >= 1
    assert shop.stats("orders")["sagas_driven_again"] >= 1
    assert [t["event"] for t in order["timeline"]].count("PaymentCharged") == 1
    shop.assert_conserved([order], sku, 10)

"""The workflow engine survives restarts of orders under load: every accepted order ends, a
new orchestrated order completes, and `/healthz/workflow` reports the engine dead while it
is and healthy again after."""

import signal
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from daprshop.stack import Stack
from tests.shop import TERMINAL, Shop, http
from tests.waiting import eventually

pytestmark = pytest.mark.e2e
SKU = "SKU-006"
MODES = ("orchestration", "hybrid")


@pytest.fixture(scope="module")
def shop(stack: Stack) -> Shop:
    return Shop.of(stack)


@pytest.fixture
def sku(shop: Shop) -> Iterator[str]:
    shop.set_stock({SKU: 100_000})
    yield SKU
    shop.faults("shipping", {})


def engine(shop: Shop) -> tuple[int, dict[str, object]]:
    try:
        status, body, _ = http("GET", f"{shop.orders}/healthz/workflow")
    except OSError as err:  # orders itself is down
        return 0, {"error": repr(err)}
    return status, body


class Load:
    """Threads placing orchestrated and hybrid orders until stopped; keeps what was accepted."""

    def __init__(self, shop: Shop, sku: str, threads: int = 6) -> None:
        self.accepted: list[str] = []
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._run, args=(shop, sku), daemon=True)
            for _ in range(threads)
        ]

    def _run(self, shop: Shop, sku: str) -> None:
        n = 0
        while not self._stop.is_set():
            try:
                status, order, _ = shop.place([(sku, 1)], mode=MODES[n % 2])
            except OSError:  # orders is restarting: a refused connection is not an order
                status, order = 0, None
            if status == 202:
                self.accepted.append(order["order_id"])
            n += 1
            if status != 202:
                self._stop.wait(0.2)  # back off while orders restarts

    def __enter__(self) -> "Load":
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(timeout=60)


def place_when_ready(shop: Shop, sku: str) -> dict[str, Any]:
    """An orchestrated order, retried with one Idempotency-Key while orders answers 503
    (its gRPC channel to a restarted sidecar reconnects a moment after the engine)."""
    key = uuid.uuid4().hex

    def attempt() -> dict[str, Any] | None:
        status, body, _ = shop.place([(sku, 1)], mode="orchestration", key=key)
        assert status in (202, 503), body
        return dict(body) if status == 202 else None

    return eventually(attempt, timeout=30, what="orders to accept an order")


@pytest.mark.parametrize(
    ("restart", "sig"),
    [
        (("orders",), signal.SIGTERM),
        (("orders",), signal.SIGKILL),
        (("orders-daprd", "orders"), signal.SIGKILL),
    ],
    ids=["app-term", "app-kill", "app-and-sidecar-kill"],
)
def test_a_restart_of_orders_under_load_loses_no_saga_and_the_engine_comes_back(
    stack: Stack, shop: Shop, sku: str, restart: tuple[str, ...], sig: signal.Signals
) -> None:
    """Sagas in flight (slowed at shipping) while orders restarts: all end, a new
    orchestrated order completes, and the health endpoint is 200 again."""
    assert engine(shop)[0] == 200, engine(shop)
    before = engine(shop)[1]
    shop.faults("shipping", {"ScheduleShipment": {"delay_before_s": 1}})
    with Load(shop, sku) as load:
        eventually(lambda: len(load.accepted) >= 12 or None, what="orders in flight")
        for name in reversed(restart):
            stack.kill(name, sig, hold=False)  # a crash: the launcher's supervisor restarts it
        restarted = time.monotonic()
        accepted = len(load.accepted)
        # a wedged daprd takes the watchdog 3 x 10 s, then a new sidecar: allow for it
        eventually(lambda: engine(shop)[0] == 200 or None, timeout=120, what="engine healthy")
        recovered_s = time.monotonic() - restarted
        eventually(lambda: len(load.accepted) > accepted or None, timeout=60, what="new orders")
        shop.faults("shipping", {})
    fresh = place_when_ready(shop, sku)
    started = time.monotonic()
    assert shop.terminal(fresh["order_id"], timeout=30)["status"] == "COMPLETED"
    orders = [shop.terminal(oid, timeout=120) for oid in load.accepted]
    assert {o["status"] for o in orders} <= set(TERMINAL)
    after = engine(shop)[1]
    print(
        f"\n{'+'.join(restart)} {sig.name}: {len(orders)} accepted orders ended; engine "
        f"healthy {recovered_s:.1f}s after respawn; new order done in "
        f"{time.monotonic() - started:.1f}s; worker reconnects {before['reconnects']}->"
        f"{after['reconnects']}, sidecar restarts by the watchdog "
        f"{before['sidecar_restarts']}->{after['sidecar_restarts']}"
    )


def test_a_worker_cut_off_for_longer_than_the_grace_is_rebuilt_and_health_recovers(
    stack: Stack, shop: Shop, sku: str
) -> None:
    """orders' sidecar down: the health endpoint answers 503 at once; after the watchdog's
    grace it rebuilds the worker, which connects when the sidecar is back."""
    before = engine(shop)[1]["reconnects"]
    stack.kill("orders-daprd")
    try:
        status, body = engine(shop)
        assert status == 503 and body["actor_types_registered"] is False, body
        eventually(
            lambda: engine(shop)[1]["reconnects"] > before or None,
            timeout=30,
            what="the watchdog to rebuild the worker",
        )
    finally:
        stack.respawn("orders-daprd")
    eventually(lambda: engine(shop)[0] == 200 or None, timeout=60, what="the engine back")
    oid = place_when_ready(shop, sku)["order_id"]
    assert shop.terminal(oid, timeout=30)["status"] == "COMPLETED"

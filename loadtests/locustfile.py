"""Orders placed in one mode at an offered rate (open model), with a realistic mix: ~85%
complete; the rest run out of stock, are declined, or cannot be shipped.

Two request types per mode: `POST accept:<mode>` (the HTTP accept of the order) and
`SAGA saga:<mode>`: the time from "order accepted" to "order terminal", taken from the
server's own timestamps (created_at -> terminal_at), not from the polling interval. A saga
that ends with the wrong outcome, or not within SAGA_TIMEOUT_S, is a failure.

Settings (environment): DAPRSHOP_MODE (choreography | orchestration | hybrid),
DAPRSHOP_RATE (orders/s offered in total), DAPRSHOP_INVENTORY_URL, and, to set the stock
levels through inventory's admin API, DAPRSHOP_ADMIN_TOKEN and DAPRSHOP_INVENTORY_TOKEN
(the stack's admin secret and inventory's APP_API_TOKEN; the harness passes them).
DAPRSHOP_EDGE_TOKEN: the host is the edge, and every request carries this bearer token and
names orders (`dapr-app-id`), as a client of the public API does.
"""

import itertools
import os
import time
from datetime import datetime

import gevent
from locust import FastHttpUser, LoadTestShape, events, task
from locust.env import Environment

MODE = os.environ.get("DAPRSHOP_MODE", "choreography")
RATE = float(os.environ.get("DAPRSHOP_RATE", "10"))
SAGA_TIMEOUT_S = float(os.environ.get("DAPRSHOP_SAGA_TIMEOUT_S", "60"))
INVENTORY = os.environ.get("DAPRSHOP_INVENTORY_URL", "http://127.0.0.1:8002")
ADMIN_TOKEN = os.environ.get("DAPRSHOP_ADMIN_TOKEN", "")
INVENTORY_TOKEN = os.environ.get("DAPRSHOP_INVENTORY_TOKEN", "")
EDGE_TOKEN = os.environ.get("DAPRSHOP_EDGE_TOKEN", "")
HAPPY_SKUS = ["SKU-001", "SKU-004", "SKU-007", "SKU-012", "SKU-013"]
EMPTY_SKU = "SKU-021"  # set to 0 units: every order of it is out of stock
ADDRESS = {
    "name": "Load Test",
    "line1": "1 Bench St",
    "city": "Utrecht",
    "postal_code": "3511",
    "country": "NL",
}
_keys = itertools.count()
_pollers: set[gevent.Greenlet] = set()


def stock_levels() -> dict[str, int]:
    return {**{sku: 10_000_000 for sku in HAPPY_SKUS}, EMPTY_SKU: 0}


@events.test_start.add_listener
def reset_stock(environment: Environment, **_: object) -> None:
    """Fresh, known stock before every run, so outcomes follow the mix."""
    import json
    import urllib.request

    req = urllib.request.Request(
        f"{INVENTORY}/admin/stock",
        method="PUT",
        data=json.dumps(stock_levels()).encode(),
        headers={
            "Content-Type": "application/json",
            "X-Admin-Token": ADMIN_TOKEN,
            "dapr-api-token": INVENTORY_TOKEN,
        },
    )
    urllib.request.urlopen(req, timeout=30).read()


@events.test_stop.add_listener
def finish_sagas(environment: Environment, **_: object) -> None:
    """Sagas started before the end are still measured: wait for their pollers."""
    gevent.joinall(list(_pollers), timeout=SAGA_TIMEOUT_S + 5)


def _ms_between(start: str, end: str) -> float:
    return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds() * 1000


class Shopper(FastHttpUser):
    """One shopper placing orders at a constant rate, whatever the saga latency."""

    default_headers = (
        {"Authorization": f"Bearer {EDGE_TOKEN}", "dapr-app-id": "orders"} if EDGE_TOKEN else None
    )

    def wait_time(self) -> float:  # open model: the offered rate is shared by all users
        runner = self.environment.runner
        return max(1, runner.user_count if runner else 1) / current_rate()

    def place(
        self,
        items: list[tuple[str, int]],
        expected: tuple[str, str | None],
        customer: str = "cust-001",
        country: str = "NL",
    ) -> None:
        body = {
            "customer_id": customer,
            "mode": MODE,
            "items": [{"sku": s, "quantity": q} for s, q in items],
            "address": {**ADDRESS, "country": country},
        }
        with self.client.post(
            "/orders", json=body, name=f"accept:{MODE}", catch_response=True
        ) as resp:
            if resp.status_code != 202:
                resp.failure(f"{resp.status_code}: {resp.text[:200]}")
                return
            order_id = resp.json()["order_id"]
        poller = gevent.spawn(self.await_terminal, order_id, expected, current_rate())
        _pollers.add(poller)
        poller.link(_pollers.discard)

    def await_terminal(self, order_id: str, expected: tuple[str, str | None], rate: float) -> None:
        started, pause = time.monotonic(), 0.05
        while time.monotonic() - started < SAGA_TIMEOUT_S:
            gevent.sleep(pause)  # poll interval; the latency comes from server timestamps
            pause = min(pause * 1.5, 0.5)
            resp = self.client.get(f"/orders/{order_id}/status", name="poll")
            if resp.status_code != 200:
                continue
            order = resp.json()
            if order["status"] not in ("COMPLETED", "CANCELLED"):
                continue
            got = (order["status"], order["reason"])
            events.request.fire(
                request_type="SAGA",
                name=f"saga:{MODE}",
                context={"rate": rate},
                response_time=_ms_between(order["created_at"], order["terminal_at"]),
                response_length=0,
                exception=None
                if got == expected
                else AssertionError(f"{order_id}: expected {expected}, got {got}"),
            )
            return
        events.request.fire(
            request_type="SAGA",
            name=f"saga:{MODE}",
            context={"rate": rate},
            response_time=SAGA_TIMEOUT_S * 1000,
            response_length=0,
            exception=TimeoutError(f"{order_id} not terminal in {SAGA_TIMEOUT_S:.0f}s"),
        )

    @task(17)
    def completes(self) -> None:
        sku = HAPPY_SKUS[next(_keys) % len(HAPPY_SKUS)]
        self.place([(sku, 1)], ("COMPLETED", None), customer=f"cust-{next(_keys) % 20 + 1:03d}")

    @task(1)
    def out_of_stock(self) -> None:
        self.place([(EMPTY_SKU, 1)], ("CANCELLED", "out_of_stock"))

    @task(1)
    def declined(self) -> None:
        self.place([("SKU-001", 1)], ("CANCELLED", "payment_declined"), customer="cust-zero")

    @task(1)
    def unshippable(self) -> None:
        self.place([("SKU-004", 1)], ("CANCELLED", "shipping_failed"), country="AQ")


# -- capacity search (`make capacity`): the offered rate steps up ---------------------------
SHAPE_ACTIVE = os.environ.get("DAPRSHOP_CAPACITY") == "1"
STEP_S = float(os.environ.get("DAPRSHOP_STEP_S", "30"))
START_RATE = float(os.environ.get("DAPRSHOP_START_RATE", "10"))
STEP_RATE = float(os.environ.get("DAPRSHOP_STEP_RATE", "10"))
MAX_RATE = float(os.environ.get("DAPRSHOP_MAX_RATE", "200"))
CAPACITY_OUT = os.environ.get("DAPRSHOP_CAPACITY_OUT", "capacity.json")
_clock: list[float] = []
_by_rate: dict[float, list[tuple[float, bool]]] = {}


def current_rate() -> float:
    if not SHAPE_ACTIVE:
        return RATE
    elapsed = time.monotonic() - _clock[0] if _clock else 0.0
    return START_RATE + STEP_RATE * int(elapsed // STEP_S)


@events.request.add_listener
def by_offered_rate(
    request_type: str,
    response_time: float,
    exception: object,
    context: dict[str, object],
    **_: object,
) -> None:
    if SHAPE_ACTIVE and request_type == "SAGA":
        rate = float(context.get("rate", 0.0))  # type: ignore[arg-type]
        _by_rate.setdefault(rate, []).append((response_time, exception is None))


@events.test_stop.add_listener
def write_capacity(environment: Environment, **_: object) -> None:
    if not SHAPE_ACTIVE:
        return
    import json

    steps = []
    for rate, samples in sorted(_by_rate.items()):
        if rate > MAX_RATE:  # orders placed in the instant the shape stopped
            continue
        times = sorted(t for t, _ in samples)
        steps.append(
            {
                "offered_rate": rate,
                "sagas": len(samples),
                "completed_per_s": round(len(samples) / STEP_S, 1),
                "failures": sum(1 for _, ok in samples if not ok),
                "p50_ms": round(times[len(times) // 2]),
                "p99_ms": round(times[min(len(times) - 1, int(len(times) * 0.99))]),
            }
        )
    # Sustained: every saga ended as expected, p99 time-to-terminal stayed under 1 s, and
    # the sagas completed kept up with at least 90% of the offered rate.
    sustained = [
        s["offered_rate"]
        for s in steps
        if s["failures"] == 0
        and s["p99_ms"] < 1000
        and s["completed_per_s"] >= 0.9 * s["offered_rate"]
    ]
    with open(CAPACITY_OUT, "w") as out:
        json.dump(
            {
                "mode": MODE,
                "step_s": STEP_S,
                "steps": steps,
                "capacity": max(sustained, default=None),
            },
            out,
            indent=1,
        )


if SHAPE_ACTIVE:

    class SteppedRate(LoadTestShape):
        """Offer START_RATE orders/s, STEP_RATE more every STEP_S seconds, up to MAX_RATE."""

        def tick(self) -> tuple[int, float] | None:
            if not _clock:
                _clock.append(time.monotonic())
            if current_rate() > MAX_RATE:
                return None
            users = max(10, int(current_rate() // 2))
            return users, float(users)

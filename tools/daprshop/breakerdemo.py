"""`daprshop breaker` (`make breaker`): a circuit breaker opening and closing, live. payments
fails every charge (its fault plan, set through its admin API); an order is placed; orders'
sidecar shows its breaker for payments open (Dapr's metrics, daprmetrics.py); the fault stays
`hold_s` more, so a call let through half-open fails and opens it again; then payments is
back, the same order completes, charged once, and the breaker closes. Dapr shows the state a
call starts in, so a second order's charge shows it `closed`."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from daprshop.daprmetrics import Breaker, read_breaker
from daprshop.shopclient import TERMINAL, ShopClient, ShopError

SKU = "SKU-004"  # the seed's largest stock
EVERY_CHARGE_FAILS = {"ChargePayment": {"error_rate": 1.0}}
POLL_S = 0.2  # how often the metrics and the order are read
STARTED = {  # what dapr_resiliency_cb_state says: the state the last call to payments met
    "closed": "the last call to payments went through the closed breaker",
    "open": "the last call to payments was refused at once by the open breaker",
    "half-open": "the last call was the probe that a half-open breaker lets through",
}


class Watch:
    """Prints, with the time, each change of the breaker's metrics and of the order."""

    def __init__(self, client: ShopClient, metrics: str, out: Callable[[str], None]) -> None:
        self.client, self.metrics, self.out = client, metrics, out
        self.started = time.monotonic()
        self.breaker: Breaker | None = None
        self.statuses: dict[str, str] = {}

    def say(self, what: str) -> None:
        elapsed = time.monotonic() - self.started
        self.out(f"{time.strftime('%H:%M:%S')} +{elapsed:5.1f}s  {what}")

    def poll(self, order_id: str | None = None) -> tuple[Breaker, dict[str, Any] | None]:
        b, last = read_breaker(self.metrics, "payments"), self.breaker
        if last is None or b.state != last.state:
            self.say(
                f"cb_state {b.state or '-'}: "
                + STARTED.get(b.state or "", "no call to payments yet")
            )
            if b.line:
                self.out(f"{'':17}{b.line}")
        if last is not None and b.opened > last.opened:
            why = "its probe failed" if b.state == "half-open" else "failures in a row tripped it"
            self.say(f"OPENED (activations_total open={b.opened}): {why}")
        if last is not None and b.closed > last.closed:
            self.say(f"CLOSED (activations_total closed={b.closed}): its probe succeeded")
        self.breaker = b
        order = self.client.order(order_id) if order_id else None
        if order is not None and self.statuses.get(order["order_id"]) != order["status"]:
            self.statuses[order["order_id"]] = order["status"]
            self.say(f"order {order['order_id']}: {order['status']}")
        return b, order

    def until(
        self,
        what: str,
        done: Callable[[Breaker, dict[str, Any] | None], bool],
        order: str | None,
        deadline_s: float,
    ) -> None:
        deadline = time.monotonic() + deadline_s
        while not done(*self.poll(order)):
            if time.monotonic() > deadline:
                raise ShopError(f"no {what} within {deadline_s:.0f}s")
            time.sleep(POLL_S)


def policy(resiliency: Path, app: str = "payments") -> str:
    """The breaker, retries and time-out that `resiliency` gives calls to `app`, in a line."""
    spec = yaml.safe_load(resiliency.read_text())["spec"]
    names = spec["targets"]["apps"].get(app) or {}
    cb = spec["policies"].get("circuitBreakers", {}).get(names.get("circuitBreaker"), {})
    retry = spec["policies"].get("retries", {}).get(names.get("retry"), {})
    return (
        f"{resiliency.name}: calls to {app} time out after "
        f"{spec['policies'].get('timeouts', {}).get(names.get('timeout'), 'never')}, "
        f"{retry.get('maxRetries', 0)} retries ({retry.get('policy', 'none')}); breaker "
        f"{names.get('circuitBreaker') or 'NONE'}: opens when {cb.get('trip', '-')}, "
        f"half-open after {cb.get('timeout', '-')}"
    )


def place(client: ShopClient, mode: str) -> str:
    status, order, _ = client.place([(SKU, 1)], mode=mode)
    if status != 202:
        raise ShopError(f"POST /orders answered {status}: {order}")
    return str(order["order_id"])


def run(
    client: ShopClient, metrics: str, mode: str, hold_s: float, out: Callable[[str], None]
) -> int:
    """The demonstration; 0 if the order completed, charged once, and the breaker closed."""
    w = Watch(client, metrics, out)
    w.poll()
    client.faults("payments", EVERY_CHARGE_FAILS)
    w.say("payments: every ChargePayment fails with a 503 from now on (fault plan)")
    try:
        oid = place(client, mode)
        w.say(f"placed order {oid} ({mode}); orders' workflow charges it by invocation")
        opened = w.breaker.opened if w.breaker else 0
        w.until("open breaker", lambda b, _o: b.state == "open" and b.opened > opened, oid, 60)
        w.say(f"open: calls fail at once; keeping payments down {hold_s:.0f}s more")
        until = time.monotonic() + hold_s
        w.until("end of the hold", lambda _b, _o: time.monotonic() > until, oid, hold_s + 1)
    finally:
        client.faults("payments", {})
        w.say("payments: fault plan cleared, payments answers again")
    closed = w.breaker.closed if w.breaker else 0
    w.until("end of the order", lambda _b, o: o is not None and o["status"] in TERMINAL, oid, 60)
    w.until("closed breaker", lambda b, _o: b.closed > closed, None, 15)
    order, payment = client.order(oid), client.payment(oid) or {"charges": [], "charged": 0}
    w.say(
        f"order {oid} ended {order['status']}: charged {payment['charged']} of "
        f"{order['total']} in {len(payment['charges'])} charge(s)"
    )
    w.say("a second order, so that Dapr's gauge shows the state its charge starts in")
    second = place(client, mode)
    w.until(
        "second order's end", lambda _b, o: o is not None and o["status"] in TERMINAL, second, 60
    )
    w.until("closed gauge", lambda b, _o: b.state == "closed", None, 10)
    ok = order["status"] == "COMPLETED" and len(payment["charges"]) == 1
    w.say("done: " + ("the saga was retried, not compensated" if ok else "UNEXPECTED end"))
    return 0 if ok else 1

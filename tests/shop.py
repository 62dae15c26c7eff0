"""A black-box client of a running daprshop: what a user sees through the public APIs."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
import uuid
from pathlib import Path
from typing import Any

from daprshop.security import Credentials
from daprshop.stack import Stack
from tests.waiting import eventually

ADDRESS = {
    "name": "Ada Lovelace",
    "line1": "1 Analytical Way",
    "city": "Utrecht",
    "postal_code": "3511",
    "country": "NL",
}
TERMINAL = ("COMPLETED", "CANCELLED")


def _json(payload: bytes) -> Any:
    try:
        return json.loads(payload) if payload else None
    except ValueError:
        return {"detail": payload.decode(errors="replace")}


def http(
    method: str,
    url: str,
    body: Any = None,
    headers: dict[str, str] | None = None,
    raw: bytes | None = None,
) -> tuple[int, Any, dict[str, str]]:
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    req = urllib.request.Request(
        url,
        data=data,
        method=method,
        headers={"Content-Type": "application/json", **(headers or {})},
    )
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            payload = resp.read()
            headers = {k.lower(): v for k, v in resp.headers.items()}
            return resp.status, _json(payload), headers
    except urllib.error.HTTPError as err:
        payload = err.read()
        headers = {k.lower(): v for k, v in err.headers.items()}
        return err.code, _json(payload), headers


class Shop:
    def __init__(
        self,
        apps: dict[str, str],
        creds: Credentials,
        sidecars: dict[str, str] | None = None,
        workdir: Path | None = None,
    ) -> None:
        """`apps`: each app's URL; `sidecars`: each sidecar's HTTP API, where the test can
        reach it (compose publishes none)."""
        self.orders = apps["orders"]
        self.inventory = apps["inventory"]
        self.payments = apps["payments"]
        self.shipping = apps["shipping"]
        self.sidecar = sidecars or {}
        self.creds = creds
        self.workdir = workdir  # DAPRSHOP_RUN_DIR for the CLI: where the secrets are

    @classmethod
    def of(cls, stack: Stack) -> Shop:
        """A client of a stack the tests started (make run's launcher)."""
        urls = stack.urls()
        return cls(
            {app: u["app"] for app, u in urls.items()},
            stack.credentials,
            {app: u["dapr"] for app, u in urls.items()},
            stack.workdir,
        )

    def auth(self, app: str) -> dict[str, str]:
        """What an operator holding the stack's secrets sends to `app` directly: its
        sidecar's token (participants answer nothing else) and the admin token."""
        return self.creds.operator_headers(app)

    def as_app(self, app: str) -> dict[str, str]:
        """The token `app` sends to its own sidecar (DAPR_API_TOKEN)."""
        return {"dapr-api-token": self.creds.api_tokens[app]}

    # -- orders -------------------------------------------------------------------------
    def place(
        self,
        items: list[tuple[str, int]],
        *,
        customer: str = "cust-001",
        country: str = "NL",
        mode: str = "choreography",
        key: str | None = None,
    ) -> tuple[int, Any, dict[str, str]]:
        body = {
            "customer_id": customer,
            "mode": mode,
            "items": [{"sku": s, "quantity": q} for s, q in items],
            "address": {**ADDRESS, "country": country},
        }
        headers = {"Idempotency-Key": key} if key else {}
        return http("POST", f"{self.orders}/orders", body, headers)

    def place_ok(self, items: list[tuple[str, int]], **kw: Any) -> dict[str, Any]:
        status, order, _ = self.place(items, **kw)
        assert status == 202, order
        return dict(order)

    def order(self, order_id: str) -> dict[str, Any]:
        status, order, _ = http("GET", f"{self.orders}/orders/{order_id}")
        assert status == 200, order
        return dict(order)

    def terminal(self, order_id: str, timeout: float = 60) -> dict[str, Any]:
        def done() -> dict[str, Any] | None:
            order = self.order(order_id)
            return order if order["status"] in TERMINAL else None

        return eventually(done, timeout=timeout, what=f"order {order_id} to end")

    # -- participants' audit views --------------------------------------------------------
    def stock(self, sku: str) -> dict[str, Any]:
        return dict(http("GET", f"{self.inventory}/stock/{sku}", headers=self.auth("inventory"))[1])

    def set_stock(self, levels: dict[str, int]) -> None:
        status, body, _ = http(
            "PUT", f"{self.inventory}/admin/stock", levels, self.auth("inventory")
        )
        assert status == 200, body

    def payment(self, order_id: str) -> dict[str, Any] | None:
        status, body, _ = http(
            "GET", f"{self.payments}/payments/{order_id}", headers=self.auth("payments")
        )
        return dict(body) if status == 200 else None

    def shipment(self, order_id: str) -> dict[str, Any] | None:
        status, body, _ = http(
            "GET", f"{self.shipping}/shipments/{order_id}", headers=self.auth("shipping")
        )
        return dict(body) if status == 200 else None

    def reservation(self, order_id: str) -> dict[str, Any] | None:
        status, body, _ = http(
            "GET", f"{self.inventory}/reservations/{order_id}", headers=self.auth("inventory")
        )
        return dict(body) if status == 200 else None

    def app_url(self, app: str) -> str:
        return str(getattr(self, app))

    def stats(self, app: str) -> dict[str, int]:
        return dict(
            http("GET", f"{self.app_url(app)}/diagnostics/stats", headers=self.auth(app))[1]
        )

    def faults(self, app: str, plan: dict[str, Any]) -> None:
        url = f"{self.app_url(app)}/admin/faults"
        status, body, _ = http("PUT", url, {"commands": plan}, self.auth(app))
        assert status == 200, body

    def fault_plan(self, app: str) -> dict[str, Any]:
        """The faults still to apply, per command."""
        url = f"{self.app_url(app)}/admin/faults"
        return dict(http("GET", url, headers=self.auth(app))[1]["commands"])

    def assert_conserved(self, orders: list[dict[str, Any]], sku: str, initial: int) -> None:
        """Invariants 2-4 for ended `orders` of one SKU: stock conserved, money conserved
        and charged once, one shipment exactly per completed order."""
        stock = self.stock(sku)
        completed = {o["order_id"] for o in orders if o["status"] == "COMPLETED"}
        assert stock["available"] + sum(stock["holds"].values()) == initial
        assert set(stock["holds"]) == completed, "units held for orders that did not complete"
        for o in orders:
            pay = self.payment(o["order_id"]) or {"charged": 0, "refunded": 0, "charges": []}
            assert len(pay["charges"]) <= 1, f"{o['order_id']} charged twice"
            net = pay["charged"] - pay["refunded"]
            assert net == (o["total"] if o["order_id"] in completed else 0), o["order_id"]
            ship = self.shipment(o["order_id"])
            scheduled = ship is not None and ship["status"] == "scheduled"
            assert scheduled == (o["order_id"] in completed), o["order_id"]

    def publish(
        self, topic: str, event_type: str, data: dict[str, Any], via: str | None = None
    ) -> None:
        """Publish through the sidecar of the app that owns `topic` (only it may: topic
        scopes), as that app, as a redelivery or a buggy producer would."""
        via = via or (topic if topic in self.sidecar else "orders")  # diagnostics: orders
        query = urllib.parse.urlencode(
            {"metadata.cloudevent.type": event_type, "metadata.cloudevent.id": uuid.uuid4().hex}
        )
        status, body, _ = http(
            "POST",
            f"{self.sidecar[via]}/v1.0/publish/pubsub/{topic}?{query}",
            data,
            self.as_app(via),
        )
        assert status == 204, body

"""A black-box client of a running daprshop: what a user sees through the public APIs, with
the tests' assertions (daprshop.shopclient holds the calls)."""

from __future__ import annotations

import urllib.parse
import uuid
from typing import Any

from daprshop.shopclient import ADDRESS, TERMINAL, ShopClient, http
from tests.waiting import eventually

__all__ = ["ADDRESS", "TERMINAL", "Shop", "http"]


class Shop(ShopClient):
    def place_ok(self, items: list[tuple[str, int]], **kw: Any) -> dict[str, Any]:
        status, order, _ = self.place(items, **kw)
        assert status == 202, order
        return dict(order)

    def terminal(self, order_id: str, timeout: float = 60) -> dict[str, Any]:
        def done() -> dict[str, Any] | None:
            order = self.order(order_id)
            return order if order["status"] in TERMINAL else None

        return eventually(done, timeout=timeout, what=f"order {order_id} to end")

    def stock(self, sku: str) -> dict[str, Any]:
        return dict(http("GET", f"{self.inventory}/stock/{sku}", headers=self.auth("inventory"))[1])

    def set_stock(self, levels: dict[str, int]) -> None:
        status, body, _ = http(
            "PUT", f"{self.inventory}/admin/stock", levels, self.auth("inventory")
        )
        assert status == 200, body

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

    def stats(self, app: str) -> dict[str, int]:
        return dict(
            http("GET", f"{self.app_url(app)}/diagnostics/stats", headers=self.auth(app))[1]
        )

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

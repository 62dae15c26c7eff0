"""`daprshop verify`: check DESIGN §2's invariants 1-4 and 6 against a running daprshop,
through the services' public read-only APIs only.

1. every order reaches a terminal status within a deadline;
2. stock is conserved per SKU: initial = available + held, and units are held only for
   orders that completed (shipped) or have not ended yet;
3. money is conserved per order: charged - refunded = total for COMPLETED, 0 for
   CANCELLED, and no order is charged twice;
4. a shipment exists exactly for each COMPLETED order;
6. no charge, hold or shipment exists for an order id that orders does not know.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from daprshop.topology import APP_IDS, Topology

TERMINAL = ("COMPLETED", "CANCELLED")
BATCH = 500

# Each app's base URL, keyed by app-id.
Urls = Mapping[str, str]
# What to send to each app (keyed by app-id): participants answer only their sidecar's token
# (or an operator holding it: daprshop.security.Credentials.operator_headers).
Auth = Mapping[str, Mapping[str, str]]
Call = Callable[..., Any]  # (method, path, body=None) on one app


def urls_for(topo: Topology, given: Mapping[str, str | None] | None = None) -> dict[str, str]:
    """Every app of the topology's URL: the one given, else make run's (its app port)."""
    given = given or {}
    return {app: given.get(app) or f"http://127.0.0.1:{topo.apps[app].app}" for app in APP_IDS}


@dataclass
class Report:
    orders: list[dict[str, Any]] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    skus: int = 0

    def counts(self) -> dict[tuple[str, str], int]:
        c = Counter(
            (o["mode"], o["status"] + (f"({o['reason']})" if o["reason"] else ""))
            for o in self.orders
        )
        return dict(sorted(c.items()))

    def text(self) -> str:
        lines = [f"daprshop verify: {len(self.orders)} orders, {self.skus} SKUs"]
        for (mode, status), n in self.counts().items():
            lines.append(f"  {mode:<14} {status:<30} {n:>6}")
        if self.violations:
            lines.append(f"{len(self.violations)} violation(s):")
            lines += [f"  - {v}" for v in self.violations]
        else:
            lines.append("all invariants hold")
        return "\n".join(lines)


def _call_raising(url: str) -> None:
    with urllib.request.urlopen(url, timeout=60) as resp:
        resp.read()


def _call(method: str, url: str, body: Any = None, headers: Mapping[str, str] | None = None) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(
        url,
        data=data,
        method=method,
        headers={"Content-Type": "application/json", **(headers or {})},
    )
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            return json.loads(resp.read())
    except urllib.error.URLError as err:
        raise SystemExit(
            f"daprshop verify: cannot read {url}: {err}. Is the stack running "
            "(`make run`), and are the URLs right (--orders-url, ...)?"
        ) from err


def all_orders(urls: Urls) -> list[dict[str, Any]]:
    orders, cursor = [], None
    while True:
        page = _call(
            "GET", f"{urls['orders']}/orders?limit=200" + (f"&cursor={cursor}" if cursor else "")
        )
        orders += page["orders"]
        cursor = page["next_cursor"]
        if cursor is None:
            return orders


def _lookup(call: Call, path: str, order_ids: list[str]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for i in range(0, len(order_ids), BATCH):
        found.update(call("POST", path, {"order_ids": order_ids[i : i + BATCH]}))
    return found


def _listing(call: Call, path: str) -> list[dict[str, Any]]:
    """Every record of a participant's paged listing (`GET /payments?page=N`)."""
    records: list[dict[str, Any]] = []
    page: int | None = 0
    while page is not None:
        body = call("GET", f"{path}?page={page}")
        records += body["records"]
        page = body["next_page"]
    return records


def _known(urls: Urls, order_id: str) -> bool:
    """Whether orders knows `order_id` now (it may have been placed since the listing)."""
    url = f"{urls['orders']}/orders/{urllib.parse.quote(order_id, safe='')}"
    try:
        _call_raising(url)
    except urllib.error.HTTPError as err:
        if err.code == 404:
            return False
        raise
    return True


def await_terminal(urls: Urls, deadline_s: float) -> list[dict[str, Any]]:
    """All orders, re-read until every one has ended or the deadline passed."""
    deadline = time.monotonic() + deadline_s
    while True:
        orders = all_orders(urls)
        if all(o["status"] in TERMINAL for o in orders) or time.monotonic() > deadline:
            return orders
        time.sleep(1)  # polling interval of a deadline-bound wait


def check(
    orders: list[dict[str, Any]],
    stock: list[dict[str, Any]],
    payments: dict[str, Any],
    shipments: dict[str, Any],
) -> list[str]:
    """Pure: the violations of invariants 1-4 in what the services reported."""
    out: list[str] = []
    by_id = {o["order_id"]: o for o in orders}
    for o in orders:
        if o["status"] not in TERMINAL:
            out.append(
                f"order {o['order_id']} ({o['mode']}) is still {o['status']}: "
                "not terminal within the deadline"
            )
    for doc in stock:
        held = sum(doc["holds"].values())
        if doc["initial"] != doc["available"] + held:
            out.append(
                f"SKU {doc['sku']}: initial {doc['initial']} != available "
                f"{doc['available']} + held {held}"
            )
        for oid, units in doc["holds"].items():
            if oid in by_id and by_id[oid]["status"] == "CANCELLED":
                out.append(f"order {oid} is CANCELLED but still holds {units} of {doc['sku']}")
        reset_at = datetime.fromisoformat(doc.get("reset_at") or "1970-01-01T00:00:00+00:00")
        for o in orders:
            if o["status"] != "COMPLETED" or datetime.fromisoformat(o["created_at"]) < reset_at:
                continue
            for line in o["items"]:
                if (
                    line["sku"] == doc["sku"]
                    and doc["holds"].get(o["order_id"]) != line["quantity"]
                ):
                    out.append(
                        f"order {o['order_id']} COMPLETED with {line['quantity']} of "
                        f"{doc['sku']} but {doc['holds'].get(o['order_id'], 0)} shipped"
                    )
    for o in orders:
        if o["status"] not in TERMINAL:
            continue
        oid = o["order_id"]
        pay = payments.get(oid) or {"charged": 0, "refunded": 0, "charges": []}
        expected = o["total"] if o["status"] == "COMPLETED" else 0
        net = pay["charged"] - pay["refunded"]
        if net != expected:
            out.append(
                f"order {oid} {o['status']}: charged {pay['charged']} - refunded "
                f"{pay['refunded']} = {net}, expected {expected}"
            )
        if len(pay.get("charges", [])) > 1:
            out.append(f"order {oid} was charged {len(pay['charges'])} times")
        shipped = (shipments.get(oid) or {}).get("status") == "scheduled"
        if shipped != (o["status"] == "COMPLETED"):
            out.append(
                f"order {oid} {o['status']} but "
                + ("a shipment exists" if shipped else "no shipment exists")
            )
    return out


def orphans(
    known: set[str],
    stock: list[dict[str, Any]],
    reservations: list[dict[str, Any]],
    payments: list[dict[str, Any]],
    shipments: list[dict[str, Any]],
) -> dict[str, list[str]]:
    """Pure: invariant 6, what each unknown order id still has, by order id. Tombstones (a
    compensation that found nothing to undo) are no effect and not reported."""
    found: dict[str, list[str]] = {}

    def add(oid: str, what: str) -> None:
        if oid not in known:
            found.setdefault(oid, []).append(what)

    for doc in stock:
        for oid, units in doc["holds"].items():
            add(oid, f"a hold of {units} {doc['sku']} (inventory)")
    held = {oid for doc in stock for oid in doc["holds"]}
    for r in reservations:
        if r["status"] == "reserved" and r["order_id"] not in held:
            add(r["order_id"], "a reservation (inventory)")
    for p in payments:
        if p["charges"]:
            add(p["order_id"], f"a charge of {p['charged']}, refunded {p['refunded']} (payments)")
    for sh in shipments:
        if sh["status"] == "scheduled":
            add(sh["order_id"], f"shipment {sh['shipment_id']} (shipping)")
    return found


def verify(urls: Urls, deadline_s: float = 60.0, auth: Auth | None = None) -> Report:
    """`auth`: the headers each participant needs (its sidecar's token); orders' reads are
    its public API."""

    def on(app: str) -> Call:
        """Calls to `app`'s paths, with the headers it needs."""
        return lambda method, path, body=None: _call(
            method, f"{urls[app]}{path}", body, (auth or {}).get(app)
        )

    at_inventory, at_payments, at_shipping = on("inventory"), on("payments"), on("shipping")
    orders = await_terminal(urls, deadline_s)
    ids = [o["order_id"] for o in orders]
    stock = at_inventory("GET", "/stock")
    payments = _lookup(at_payments, "/payments/lookup", ids)
    shipments = _lookup(at_shipping, "/shipments/lookup", ids)
    violations = check(orders, stock, payments, shipments)
    unknown = orphans(
        set(ids),
        stock,
        _listing(at_inventory, "/reservations"),
        _listing(at_payments, "/payments"),
        _listing(at_shipping, "/shipments"),
    )
    for oid, what in unknown.items():
        if not _known(urls, oid):
            violations.append(f"orphan: order {oid} is unknown to orders but has {', '.join(what)}")
    return Report(orders, violations, len(stock))

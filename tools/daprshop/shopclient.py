"""A black-box client of a running daprshop, through its public APIs and, holding the stack's
secrets, the participants' admin API: place and read orders, read a charge, set fault plans.
The tests' Shop (tests/shop.py) adds their assertions to it; `daprshop breaker` uses it on
make run's stack."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Self

from daprshop.security import Credentials
from daprshop.stack import Stack
from daprshop.topology import Topology

ADDRESS = {
    "name": "Ada Lovelace",
    "line1": "1 Analytical Way",
    "city": "Utrecht",
    "postal_code": "3511",
    "country": "NL",
}
TERMINAL = ("COMPLETED", "CANCELLED")


class ShopError(RuntimeError):
    """An app answered what it should not have."""


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
    """One call: (status, JSON body, lower-cased headers); an HTTP error is an answer too."""
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


class ShopClient:
    def __init__(
        self,
        apps: dict[str, str],
        creds: Credentials,
        sidecars: dict[str, str] | None = None,
        workdir: Path | None = None,
    ) -> None:
        """`apps`: each app's URL; `sidecars`: each sidecar's HTTP API, where the client can
        reach it (compose publishes none)."""
        self.orders = apps["orders"]
        self.inventory = apps["inventory"]
        self.payments = apps["payments"]
        self.shipping = apps["shipping"]
        self.sidecar = sidecars or {}
        self.creds = creds
        self.workdir = workdir  # DAPRSHOP_RUN_DIR for the CLI: where the secrets are

    @classmethod
    def of(cls, stack: Stack) -> Self:
        """A client of a stack started here (make run's launcher)."""
        return cls.at(stack.topo, stack.credentials, stack.workdir)

    @classmethod
    def at(cls, topo: Topology, creds: Credentials, workdir: Path | None = None) -> Self:
        """A client of the stack on `topo`'s loopback ports (make run's: Topology.defaults())."""
        return cls(
            {app: f"http://127.0.0.1:{p.app}" for app, p in topo.apps.items()},
            creds,
            {app: f"http://127.0.0.1:{p.http}" for app, p in topo.apps.items()},
            workdir,
        )

    def auth(self, app: str) -> dict[str, str]:
        """What an operator holding the stack's secrets sends to `app` directly: its
        sidecar's token (participants answer nothing else) and the admin token."""
        return self.creds.operator_headers(app)

    def as_app(self, app: str) -> dict[str, str]:
        """The token `app` sends to its own sidecar (DAPR_API_TOKEN)."""
        return {"dapr-api-token": self.creds.api_tokens[app]}

    def app_url(self, app: str) -> str:
        return str(getattr(self, app))

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

    def order(self, order_id: str) -> dict[str, Any]:
        status, order, _ = http("GET", f"{self.orders}/orders/{order_id}")
        if status != 200:
            raise ShopError(f"GET /orders/{order_id} answered {status}: {order}")
        return dict(order)

    def payment(self, order_id: str) -> dict[str, Any] | None:
        status, body, _ = http(
            "GET", f"{self.payments}/payments/{order_id}", headers=self.auth("payments")
        )
        return dict(body) if status == 200 else None

    def faults(self, app: str, plan: dict[str, Any]) -> None:
        """Replace `app`'s fault plan (per command; {}: none) through its admin API."""
        url = f"{self.app_url(app)}/admin/faults"
        status, body, _ = http("PUT", url, {"commands": plan}, self.auth(app))
        if status != 200:
            raise ShopError(f"PUT {url} answered {status}: {body}")

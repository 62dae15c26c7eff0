"""`daprshop audit`: replay, against a running stack, the calls an attacker on this machine (or
a compromised service) would try first, and show what refused each. Every probe must be
refused: 401 (no or wrong token), 403 (an identity or scope that does not allow it), or the
connection itself (mTLS, Redis AUTH, loopback-only listeners). docs/security.md explains each.

A probe "as <app>" holds that app's own sidecar token: what a compromised app could do.
"""

from __future__ import annotations

import json
import re
import socket
import subprocess
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc

from daprshop.security import REDIS_SECRET, SECRET_STORE, Credentials
from daprshop.topology import Topology
from daprshop_contracts.commands import ChargePayment, RefundPayment
from daprshop_contracts.events import (
    Address,
    Line,
    OrderContext,
    PaymentCharged,
    ShipmentFailed,
    StockReserved,
)

BIG_CHARGE = 4_999_999  # cents: the amount the probes charged
CHARGE = f"commands/{ChargePayment.__name__}"


@dataclass(frozen=True)
class Answer:
    refused: bool
    what: str  # e.g. "401", "403", "connection refused", "NOAUTH"


@dataclass(frozen=True)
class Target:
    topo: Topology
    creds: Credentials
    host: str = "127.0.0.1"
    workdir: Path | None = None  # the stack's directory: its token issuer's key (the edge)

    def app(self, app_id: str) -> str:
        return f"http://{self.host}:{self.topo.apps[app_id].app}"

    def sidecar(self, app_id: str) -> str:
        return f"http://{self.host}:{self.topo.apps[app_id].http}"

    def as_app(self, app_id: str) -> dict[str, str]:
        """The headers a compromised `app_id` could send to its own sidecar."""
        return {"dapr-api-token": self.creds.api_tokens[app_id]}


@dataclass(frozen=True)
class Probe:
    name: str
    attempt: str  # what is tried, in a user's words
    stopped_by: str  # which control refuses it
    run: Callable[[Target], Answer]


# -- how a probe calls ------------------------------------------------------------------------
def http(
    method: str, url: str, body: Any = None, headers: dict[str, str] | None = None
) -> tuple[int, str]:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(
        url,
        data=data,
        method=method,
        headers={"Content-Type": "application/json", **(headers or {})},
    )
    try:
        with urllib.request.urlopen(req, timeout=15) as resp:
            return resp.status, resp.read().decode(errors="replace")
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode(errors="replace")


def refused_http(status: int, body: str, *, expect: tuple[int, ...]) -> Answer:
    return Answer(status in expect, f"{status} {body[:120]}".strip())


def _order(order_id: str) -> OrderContext:
    return OrderContext(
        customer_id="mallory",
        items=(Line(sku="SKU-001", quantity=1, unit_price=BIG_CHARGE),),
        total=BIG_CHARGE,
        address=Address(
            name="Mallory", line1="1 Side Door", city="Utrecht", postal_code="3511", country="NL"
        ),
    )


def _charge() -> dict[str, Any]:
    return dict(_forged(ChargePayment).model_dump(mode="json"))


def _publish(t: Target, via: str, topic: str, event: Any, as_app: bool) -> Answer:
    query = urllib.parse.urlencode(
        {"metadata.cloudevent.type": event.TYPE, "metadata.cloudevent.id": uuid.uuid4().hex}
    )
    status, body = http(
        "POST",
        f"{t.sidecar(via)}/v1.0/publish/pubsub/{topic}?{query}",
        event.envelope_data(),
        t.as_app(via) if as_app else None,
    )
    return refused_http(status, body, expect=(401, 403))


def _invoke(t: Target, via: str, app: str, method: str, body: Any, as_app: bool) -> Answer:
    status, answer = http(
        "POST",
        f"{t.sidecar(via)}/v1.0/invoke/{app}/method/{method}",
        body,
        t.as_app(via) if as_app else None,
    )
    return refused_http(status, answer, expect=(401, 403))


def _raw_internal_grpc(t: Target) -> Answer:
    """A plaintext gRPC call to payments' sidecar-to-sidecar port, as another sidecar would
    make it without a certificate (dapr.proto.internals.v1.ServiceInvocation/CallLocal)."""
    target = f"{t.host}:{t.topo.apps['payments'].internal}"
    with grpc.insecure_channel(target) as channel:
        call = channel.unary_unary(
            "/dapr.proto.internals.v1.ServiceInvocation/CallLocal",
            request_serializer=lambda b: b,
            response_deserializer=lambda b: b,
        )
        try:
            call(b"", timeout=5)
        except grpc.RpcError as err:
            code = err.code() if hasattr(err, "code") else None
            # UNAVAILABLE: the TLS handshake never happened, nothing reached Dapr's handler
            return Answer(code == grpc.StatusCode.UNAVAILABLE, f"gRPC {code}")
    return Answer(False, "answered")


def _redis_without_password(t: Target) -> Answer:
    with socket.create_connection((t.host, t.topo.redis), timeout=5) as s:
        s.sendall(b"KEYS *\r\n")
        reply = s.recv(64)
    return Answer(reply.startswith(b"-NOAUTH"), reply.decode(errors="replace").strip()[:60])


def _admin(t: Target, headers: dict[str, str], method: str = "PUT") -> Answer:
    body = {"SKU-001": 0} if method == "PUT" else None
    path = "/admin/stock" if method == "PUT" else "/admin/faults"
    status, answer = http(method, f"{t.app('inventory')}{path}", body, headers)
    leaked = t.creds.admin_token in answer
    return Answer(status == 401 and not leaked, f"{status}{' LEAKS THE TOKEN' if leaked else ''}")


def _inventory(t: Target) -> dict[str, str]:
    """inventory's app token: gets past the app's sidecar check, not past the admin check."""
    return {"dapr-api-token": t.creds.app_tokens["inventory"]}


def probes() -> list[Probe]:
    from daprshop import edgeprobes  # its probes use this module's Probe and http

    return [
        Probe(
            "app-port-charge",
            "POST payments' app port /commands/ChargePayment, no token",
            "APP_API_TOKEN",
            lambda t: refused_http(
                *http("POST", f"{t.app('payments')}/commands/ChargePayment", _charge()),
                expect=(401,),
            ),
        ),
        Probe(
            "app-port-charge-other-token",
            "the same with shipping's sidecar-to-app token",
            "APP_API_TOKEN (one per app)",
            lambda t: refused_http(
                *http(
                    "POST",
                    f"{t.app('payments')}/commands/ChargePayment",
                    _charge(),
                    {"dapr-api-token": t.creds.app_tokens["shipping"]},
                ),
                expect=(401,),
            ),
        ),
        Probe(
            "invoke-charge-no-token",
            "ChargePayment through shipping's sidecar, no token",
            "DAPR_API_TOKEN",
            lambda t: _invoke(
                t, "shipping", "payments", "commands/ChargePayment", _charge(), False
            ),
        ),
        Probe(
            "invoke-charge-as-shipping",
            "ChargePayment through shipping's sidecar, as shipping",
            "accessControl (only orders)",
            lambda t: _invoke(t, "shipping", "payments", CHARGE, _charge(), True),
        ),
        Probe(
            "invoke-refund-as-inventory",
            "RefundPayment through inventory's sidecar, as inventory",
            "accessControl (only orders)",
            lambda t: _invoke(
                t,
                "inventory",
                "payments",
                "commands/RefundPayment",
                RefundPayment(order_id="any-order", causation_id="audit").model_dump(mode="json"),
                True,
            ),
        ),
        Probe(
            "invoke-payments-admin-as-orders",
            "payments' /admin/faults through orders' sidecar, as orders",
            "accessControl (commands only)",
            lambda t: _invoke(t, "orders", "payments", "admin/faults", None, True),
        ),
        Probe(
            "invoke-orders-as-payments",
            "orders' operations API through payments' sidecar, as payments",
            "accessControl (nobody invokes orders)",
            lambda t: _invoke(t, "payments", "orders", "diagnostics/workflow", None, True),
        ),
        Probe(
            "internal-grpc-plaintext",
            "raw gRPC to payments' sidecar-to-sidecar port",
            "mTLS (Sentry identities)",
            _raw_internal_grpc,
        ),
        Probe(
            "forge-payment-charged-no-token",
            "publish PaymentCharged through shipping's sidecar, no token",
            "DAPR_API_TOKEN",
            lambda t: _publish(t, "shipping", "payments", _forged(PaymentCharged), False),
        ),
        Probe(
            "forge-payment-charged-as-shipping",
            "publish PaymentCharged through shipping's sidecar, as shipping",
            "publishingScopes",
            lambda t: _publish(t, "shipping", "payments", _forged(PaymentCharged), True),
        ),
        Probe(
            "forge-stock-reserved-as-orders",
            "publish StockReserved through orders' sidecar, as orders",
            "publishingScopes",
            lambda t: _publish(t, "orders", "inventory", _forged(StockReserved), True),
        ),
        Probe(
            "forge-shipment-failed-as-payments",
            "publish ShipmentFailed through payments' sidecar, as payments",
            "publishingScopes",
            lambda t: _publish(t, "payments", "shipping", _forged(ShipmentFailed), True),
        ),
        Probe(
            "workflow-terminate-no-token",
            "terminate a workflow through orders' sidecar, no token",
            "DAPR_API_TOKEN",
            lambda t: refused_http(
                *http("POST", f"{t.sidecar('orders')}/v1.0/workflows/dapr/any-order/terminate"),
                expect=(401,),
            ),
        ),
        Probe(
            "workflow-purge-no-token",
            "purge a workflow through orders' sidecar, no token",
            "DAPR_API_TOKEN",
            lambda t: refused_http(
                *http("POST", f"{t.sidecar('orders')}/v1.0/workflows/dapr/any-order/purge"),
                expect=(401,),
            ),
        ),
        Probe(
            "sidecar-shutdown-no-token",
            "POST /v1.0/shutdown on inventory's sidecar, no token",
            "DAPR_API_TOKEN",
            lambda t: refused_http(
                *http("POST", f"{t.sidecar('inventory')}/v1.0/shutdown"), expect=(401,)
            ),
        ),
        Probe(
            "state-read-no-token",
            "read payments' records through its sidecar's state API, no token",
            "DAPR_API_TOKEN",
            lambda t: refused_http(
                *http("GET", f"{t.sidecar('payments')}/v1.0/state/payments-store/any"),
                expect=(401,),
            ),
        ),
        Probe(
            "state-write-no-token",
            "write payments' records through its sidecar's state API, no token",
            "DAPR_API_TOKEN",
            lambda t: refused_http(
                *http(
                    "POST",
                    f"{t.sidecar('payments')}/v1.0/state/payments-store",
                    [{"key": "forged", "value": {"charged": 0}}],
                ),
                expect=(401,),
            ),
        ),
        Probe(
            "secret-redis-password-as-orders",
            "read the Redis password through orders' secrets API, as orders",
            "secret scopes (admin-token only)",
            lambda t: refused_http(
                *http(
                    "GET",
                    f"{t.sidecar('orders')}/v1.0/secrets/{SECRET_STORE}/{REDIS_SECRET}",
                    headers=t.as_app("orders"),
                ),
                expect=(403,),
            ),
        ),
        Probe(
            "redis-no-password",
            "KEYS * on Redis without its password",
            "Redis requirepass",
            _redis_without_password,
        ),
        Probe(
            "admin-old-default-token",
            "inventory's admin API with the old default `daprshop-dev-token`",
            "admin secret from the secret store",
            lambda t: _admin(t, {**_inventory(t), "X-Admin-Token": "daprshop-dev-token"}),
        ),
        Probe(
            "admin-faults-read-no-admin-token",
            "GET inventory's /admin/faults with its app token but no admin token",
            "admin secret from the secret store",
            lambda t: _admin(t, _inventory(t), method="GET"),
        ),
        *edgeprobes.probes(),
    ]


def _forged(cls: Any) -> Any:
    oid = f"forged-{uuid.uuid4().hex[:12]}"
    fields: dict[str, Any] = {"order_id": oid, "causation_id": "audit"}
    if "order" in cls.model_fields:
        fields["order"] = _order(oid)
    if "amount" in cls.model_fields:
        fields["amount"] = BIG_CHARGE
    return cls(**fields)


def run(target: Target) -> list[tuple[Probe, Answer]]:
    results = []
    for probe in probes():
        try:
            answer = probe.run(target)
        except (ConnectionRefusedError, ConnectionResetError) as err:
            answer = Answer(True, f"connection refused ({type(err).__name__})")
        except urllib.error.URLError as err:
            answer = Answer(True, f"connection refused ({err.reason})")
        results.append((probe, answer))
    return results


def table(results: list[tuple[Probe, Answer]]) -> str:
    rows = [("", "probe", "stopped by", "answer")]
    rows += [
        ("ok" if a.refused else "OPEN", p.name, p.stopped_by, a.what.splitlines()[0][:60])
        for p, a in results
    ]
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    return "\n".join(
        f"{r[0]:<{widths[0]}}  {r[1]:<{widths[1]}}  {r[2]:<{widths[2]}}  {r[3]}" for r in rows
    )


# -- listeners ----------------------------------------------------------------------------------
# Dapr 1.18.2's control-plane health servers ignore --healthz-listen-address:
# pkg/healthz/server/server.go listens on `:<port>` (fixed upstream in dapr/dapr#10394). They
# answer only GET /healthz with a status code (placement's /placement/state is off without
# --metadata-enabled). docs/security.md, "Not covered".
UPSTREAM_WILDCARD = frozenset({"placement", "scheduler", "sentry"})


@dataclass(frozen=True)
class Listener:
    process: str
    pid: int
    address: str

    @property
    def loopback(self) -> bool:
        host = self.address.rsplit(":", 1)[0].strip("[]")
        return host.startswith("127.") or host == "::1"


def listeners(groups: dict[str, int]) -> list[Listener]:
    """Every TCP listener of the processes in the given process groups (name -> pgid), as
    `ss -ltnp` shows it."""
    out = subprocess.run(["ss", "-ltnpH"], capture_output=True, text=True, check=True).stdout
    by_group = {pgid: name for name, pgid in groups.items()}
    found = []
    for line in out.splitlines():
        cols = line.split()
        if len(cols) < 6:
            continue
        for pid in map(int, re.findall(r"pid=(\d+)", cols[5])):
            try:
                stat = Path(f"/proc/{pid}/stat").read_text().rsplit(") ", 1)[1].split()
            except (OSError, IndexError):
                continue
            name = by_group.get(int(stat[2]))  # field 5 of stat: the process group id
            if name is not None:
                found.append(Listener(name, pid, cols[3]))
    return sorted(set(found), key=lambda x: (x.process, x.address))


def exposed(found: list[Listener]) -> list[Listener]:
    """Listeners not on loopback, except the upstream health servers named above."""
    return [x for x in found if not x.loopback and x.process not in UPSTREAM_WILDCARD]

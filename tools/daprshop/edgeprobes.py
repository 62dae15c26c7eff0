"""`daprshop audit`'s probes of the edge: what a client of the public API tries first. Without
a token the stack's issuer signed it gets no further than the edge; with one, no further
than orders' public order API."""

from __future__ import annotations

import time
from collections.abc import Callable

from cryptography.hazmat.primitives.asymmetric import ec

from daprshop import edge
from daprshop.audit import Answer, Probe, Target, http, refused_http
from daprshop.security import sign


def _call(t: Target, path: str, token: str | None, method: str = "GET") -> tuple[int, str]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return http(method, f"http://{t.host}:{t.topo.edge_http}/v1.0/invoke/{path}", {}, headers)


def _valid(t: Target) -> str | None:
    return None if t.workdir is None else edge.mint(t.workdir, t.topo, "audit", ttl_s=60)


def _forged(t: Target) -> str:
    now = int(time.time())
    claims = {"iss": edge.issuer_url(t.topo), "aud": edge.AUDIENCE, "sub": "mallory"}
    return sign({**claims, "iat": now, "exp": now + 60}, ec.generate_private_key(ec.SECP256R1()))


def _with_token(path: str, method: str, expect: int) -> Callable[[Target], Answer]:
    """A probe holding a valid token; `{orders_app}` in `path`: orders' app port as a URL."""

    def run(t: Target) -> Answer:
        token = _valid(t)
        if token is None:
            return Answer(False, "no issuer key: the audit needs the stack's directory")
        url = f"http%3A%2F%2F127.0.0.1%3A{t.topo.apps['orders'].app}"
        return refused_http(*_call(t, path.format(orders_app=url), token, method), expect=(expect,))

    return run


def probes() -> list[Probe]:
    return [
        Probe(
            "edge-no-token",
            "GET orders through the edge without a token",
            "the edge's JWT check",
            lambda t: refused_http(*_call(t, "orders/method/orders", None), expect=(401,)),
        ),
        Probe(
            "edge-forged-token",
            "the same with a token signed by another key",
            "the edge's JWT check (the issuer's JWKS)",
            lambda t: refused_http(*_call(t, "orders/method/orders", _forged(t)), expect=(401,)),
        ),
        Probe(
            "edge-admin-with-token",
            "orders' /admin/faults through the edge, with a valid token",
            "orders' access policy (the edge: public order API only)",
            _with_token("orders/method/admin/faults", "GET", 403),
        ),
        Probe(
            "edge-charge-with-token",
            "ChargePayment through the edge, with a valid token",
            "payments' access policy (only orders)",
            _with_token("payments/method/commands/ChargePayment", "POST", 403),
        ),
        Probe(
            "edge-url-with-token",
            "orders' app port as a URL through the edge, with a valid token",
            "the edge's app pipeline (no URL is invoked)",
            _with_token("{orders_app}/method/orders", "GET", 401),
        ),
    ]

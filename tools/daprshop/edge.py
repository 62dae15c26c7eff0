"""The edge: the authenticated gateway in front of orders' public API, self-hosted.

A daprd with app-id `edge` and no app: Dapr's bearer (JWT) middleware on its HTTP API, CORS
for the order page, service invocation its only API, and orders' access policy lets it reach
the public order API alone (components/edge/, components/configuration/edge.yaml). nginx in
front of it (daprshop.front) limits the rate and logs each request. Clients call
`http://127.0.0.1:<edge>/v1.0/invoke/orders/method/orders`.

The local token issuer: an ES256 key pair made at a stack's first start (the private key 0600
in the stack's secrets), its public JWKS served by Python's own `http.server` from a directory
that holds nothing else. `mint` signs a client's token (`daprshop token` prints one).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from daprshop.security import public_jwks, secrets_dir, sign, write_private
from daprshop.topology import EDGE, WORKFLOW_HOST, Topology

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ec import EllipticCurvePrivateKey

COMPONENTS = Path(__file__).resolve().parents[2] / "components"
DEFAULT_ISSUER = "127.0.0.1:8090"  # as components/edge/*.yaml name it; the launcher moves it
AUDIENCE = "daprshop-edge"  # components/edge/bearer.yaml
DEFAULT_TTL_S = 3600
ISSUER_KEY = "edge-issuer-key.pem"


def issuer_address(topo: Topology) -> str:
    return f"127.0.0.1:{topo.issuer}"


def issuer_url(topo: Topology) -> str:
    """The `iss` of the stack's tokens (and where its JWKS is served)."""
    return f"http://{issuer_address(topo)}"


def issuer_key(workdir: Path) -> EllipticCurvePrivateKey:
    """The stack's signing key: made at its first start, kept (0600) across restarts, so a
    token printed by `daprshop token` stays valid until it expires."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    path = secrets_dir(workdir) / ISSUER_KEY
    if path.exists():
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise SystemExit(f"daprshop: {path} is not an EC key; delete it to make a new one")
        return key
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    secrets_dir(workdir).mkdir(mode=0o700, parents=True, exist_ok=True)
    write_private(path, pem.decode())
    return key


def publish_jwks(workdir: Path) -> Path:
    """Write the public JWKS where the issuer serves it; returns that directory."""
    import json

    out = workdir / "edge" / "issuer"
    out.mkdir(parents=True, exist_ok=True)
    (out / "jwks.json").write_text(json.dumps(public_jwks(issuer_key(workdir))))
    return out


def mint(
    workdir: Path,
    topo: Topology,
    client: str = "demo",
    ttl_s: int = DEFAULT_TTL_S,
    now: float | None = None,
) -> str:
    """A bearer token for `client` (its `sub`), valid for `ttl_s` seconds."""
    if ttl_s <= 0:
        raise ValueError(f"a token's lifetime must be positive, not {ttl_s} s")
    issued = int(time.time() if now is None else now)
    claims = {
        "iss": issuer_url(topo),
        "aud": AUDIENCE,
        "sub": client,
        "iat": issued,
        "exp": issued + ttl_s,
    }
    return sign(claims, issuer_key(workdir))


def render(workdir: Path, topo: Topology, nr_db: tuple[str, str]) -> tuple[Path, Path]:
    """The edge's components (its middleware only) and Configuration for this stack's issuer
    port and name-resolution file (`nr_db`: the default path, the stack's); returns
    (resources dir, config file)."""
    resources = workdir / "edge" / "components"
    resources.mkdir(parents=True, exist_ok=True)
    issuer = issuer_address(topo)
    for path in sorted((COMPONENTS / "edge").glob("*.yaml")):  # not nginx.conf (daprshop.front)
        (resources / path.name).write_text(path.read_text().replace(DEFAULT_ISSUER, issuer))
    config = workdir / "edge" / "config.yaml"
    text = (COMPONENTS / "configuration" / f"{EDGE}.yaml").read_text()
    config.write_text(text.replace(*nr_db))
    return resources, config


def allowed_origins(topo: Topology) -> str:
    """CORS: the order page's origin (orders' app), by address and by name."""
    port = topo.apps[WORKFLOW_HOST].app
    return f"http://127.0.0.1:{port},http://localhost:{port}"


def issuer_argv(directory: Path, topo: Topology) -> list[str]:
    """The issuer: Python's static file server, serving only the JWKS directory."""
    return [
        sys.executable,
        "-m",
        "http.server",
        str(topo.issuer),
        "--bind",
        "127.0.0.1",
        "--directory",
        str(directory),
    ]


def daprd_argv(daprd: Path, topo: Topology, resources: Path, config: Path) -> list[str]:
    """The edge's sidecar: no --app-port (no app), every port on loopback, no actors."""
    return [
        str(daprd),
        "--app-id",
        EDGE,
        "--dapr-http-port",
        str(topo.edge_dapr_http),  # behind nginx on topo.edge_http (daprshop.front)
        "--dapr-grpc-port",
        str(topo.edge_grpc),
        "--dapr-internal-grpc-port",
        str(topo.edge_internal),
        "--dapr-internal-grpc-listen-address",
        "127.0.0.1",
        "--dapr-listen-addresses",
        "127.0.0.1",
        "--metrics-port",
        str(topo.edge_metrics),
        "--metrics-listen-address",
        "127.0.0.1",
        "--resources-path",
        str(resources),
        "--config",
        str(config),
        "--placement-host-address",
        "",
        "--scheduler-host-address",
        "",
        "--allowed-origins",
        allowed_origins(topo),
        "--enable-api-logging",
    ]

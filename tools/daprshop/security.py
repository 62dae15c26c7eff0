"""Who may do what in a daprshop stack, derived from the topology and the saga definition,
and the secrets each stack makes for itself. docs/security.md explains the threat model.

- `access_control(app)`: the Dapr `accessControl` policy an app's sidecar applies to callers
  (`defaultAction: deny`; only orders may invoke a participant, and only its saga commands).
- `publishing_topics(app)` / `subscribed_topics(app)`: topic ownership, rendered into the
  pub/sub component's `publishingScopes` and `subscriptionScopes`.
- `Credentials`: random per stack, made at first start, kept in `<workdir>/secrets/` with mode
  0600: the admin token and the Redis password (served by Dapr's local-file secret store),
  and each sidecar's DAPR_API_TOKEN and APP_API_TOKEN (handed to the processes by the
  launcher, never through the secret store's API).
- `sign` / `public_jwks`: ES256 JWTs and the JWKS that verifies them (the tokens Sentry asks
  for; the edge's issuer, daprshop.edge).
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from daprshop.topology import APP_IDS, EDGE, WORKFLOW_HOST
from daprshop_contracts.events import EVENTS
from daprshop_contracts.saga import ORDER_SAGA, Saga
from daprshop_contracts.topics import DEAD_LETTERS, DIAGNOSTICS, producer_of, topic_of

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ec import EllipticCurvePrivateKey

SECRET_STORE = "daprshop-secrets"  # the Dapr secret store component every app reads
KUBERNETES_SECRET_STORE = "kubernetes"  # Dapr's built-in secret store on Kubernetes
ADMIN_SECRET = "admin-token"  # X-Admin-Token's value
REDIS_SECRET = "redis-password"  # Redis `requirepass`; components read it by secretKeyRef
# Secrets an app may read through its sidecar's secrets API; the Redis password is resolved
# by daprd for its components only.
READABLE_SECRETS = (ADMIN_SECRET,)
TRUST_DOMAIN = "public"  # Dapr's default trust domain for app identities
SELF_HOSTED_NAMESPACE = "default"  # a self-hosted daprd's SPIFFE namespace
COMMAND_PREFIX = "/commands/"  # where a participant serves its saga commands
# What else orders calls on a participant, besides its saga commands: the wiring check
# (GET /diagnostics/dependencies asks each participant's /healthz), and the price of an order
# (orders/placing.py: inventory's quote, before an order is accepted).
WIRING_CHECK = ("/healthz", "GET")
QUERIES: dict[str, tuple[tuple[str, str], ...]] = {"inventory": (("/catalogue/quote", "POST"),)}
# What the edge (the authenticated gateway) may invoke on orders: its public order API and
# nothing else (no admin, no operations API), as (verb, route); a subset of orders.api.PUBLIC.
EDGE_ROUTES = (
    ("POST", "/orders"),
    ("GET", "/orders"),
    ("GET", "/orders/{order_id}"),
    ("GET", "/orders/{order_id}/status"),
)
# ... as Dapr's access policy matches them (pkg/config/acl_trie.go): an operation with no
# wildcard also matches every path below it, so `/orders` would let GET /orders/{id}/workflow
# (an operator's) through. `/orders/*` matches /orders and one segment below it, and `/**`
# one segment in the middle; the first must come first. tests/e2e/test_edge.py proves what
# gets through and what does not.
EDGE_OPERATIONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("/orders/*", ("GET", "POST")),
    ("/orders/**/status", ("GET",)),
)
CONTROL_PLANE_TRUST_DOMAIN = "localhost"  # Sentry's --trust-domain, Dapr's default
SENTRY_ID = f"spiffe://{CONTROL_PLANE_TRUST_DOMAIN}/ns/{SELF_HOSTED_NAMESPACE}/dapr-sentry"
SECURITY_ENV = "DAPRSHOP_SECURITY"  # `off` only to measure what security costs (make compare)


def security_on(env: dict[str, str] | None = None) -> bool:
    value = (os.environ if env is None else env).get(SECURITY_ENV, "on").strip().lower()
    if value not in ("on", "off"):
        raise SystemExit(f"{SECURITY_ENV}={value!r}: use `on` (the default) or `off`")
    return value == "on"


# -- topic ownership -------------------------------------------------------------------------
def outbox_topic(app_id: str, namespace: str = SELF_HOSTED_NAMESPACE) -> str:
    """The internal topic Dapr's transactional outbox publishes to before the real one
    (dapr/pkg/runtime/pubsub/outbox.go: namespace + app-id + topic + "outbox"; a self-hosted
    daprd's namespace is `default`)."""
    return f"{namespace}{app_id}{topic_of(app_id)}outbox"


def publishing_topics(app_id: str, namespace: str = SELF_HOSTED_NAMESPACE) -> tuple[str, ...]:
    """Its own topic, its outbox's internal topic, and the dead-letter topic (its sidecar
    publishes there what its handlers refuse); orders also sends diagnostics pings."""
    own = [topic_of(app_id), outbox_topic(app_id, namespace), DEAD_LETTERS]
    if app_id == WORKFLOW_HOST:
        own.append(DIAGNOSTICS)
    return tuple(own)


def subscribed_topics(app_id: str, saga: Saga = ORDER_SAGA) -> tuple[str, ...]:
    """What the saga routes to an app: a participant, the producers of the events that start
    or undo its steps; orders, every participant's outcomes and the dead letters. Every app
    answers diagnostics pings."""
    if app_id == WORKFLOW_HOST:
        producers = sorted({producer_of(t) for t in EVENTS} & set(saga.participants))
        return (*map(topic_of, producers), DEAD_LETTERS, DIAGNOSTICS)
    producers = sorted({producer_of(t) for t in saga.routes(app_id)})
    return (*map(topic_of, producers), DIAGNOSTICS)


def scope_string(per_app: dict[str, tuple[str, ...]]) -> str:
    """Dapr's scope syntax: `app1=t1,t2;app2=t3`."""
    return ";".join(f"{app}={','.join(ts)}" for app, ts in per_app.items())


def pubsub_scopes(
    namespace: str = SELF_HOSTED_NAMESPACE, apps: tuple[str, ...] = APP_IDS
) -> dict[str, str]:
    return {
        "publishingScopes": scope_string({a: publishing_topics(a, namespace) for a in apps}),
        "subscriptionScopes": scope_string({a: subscribed_topics(a) for a in apps}),
    }


# -- service invocation -----------------------------------------------------------------------
def invocable_commands(app_id: str, saga: Saga = ORDER_SAGA) -> tuple[str, ...]:
    """The operations of `app_id` that orders (the saga's coordinator) may invoke."""
    if app_id not in saga.participants:
        return ()
    return tuple(f"{COMMAND_PREFIX}{c.__name__}" for c in saga.commands_of(app_id))


def access_control(
    app_id: str, namespace: str = SELF_HOSTED_NAMESPACE, saga: Saga = ORDER_SAGA
) -> dict[str, Any]:
    """The `accessControl` section of `app_id`'s sidecar Configuration: deny by default;
    orders may POST the participant's saga commands and GET its /healthz (the wiring
    check), nothing else; only the edge may invoke orders, and only its public order API
    (its workflow runs in its own sidecar)."""
    policies = []
    if app_id == WORKFLOW_HOST:
        policies.append(_policy(EDGE, namespace, EDGE_OPERATIONS))
    if ops := invocable_commands(app_id, saga):
        allowed = (*((op, "POST") for op in ops), *QUERIES.get(app_id, ()), WIRING_CHECK)
        policies.append(_policy(WORKFLOW_HOST, namespace, [(op, (v,)) for op, v in allowed]))
    return {"defaultAction": "deny", "trustDomain": TRUST_DOMAIN, "policies": policies}


def _policy(
    caller: str, namespace: str, allowed: Iterable[tuple[str, tuple[str, ...]]]
) -> dict[str, Any]:
    """What `caller` may invoke: `allowed` (operation, HTTP verbs), nothing else."""
    return {
        "appId": caller,
        "defaultAction": "deny",
        "trustDomain": TRUST_DOMAIN,
        "namespace": namespace,
        "operations": [
            {"name": op, "httpVerb": list(verbs), "action": "allow"} for op, verbs in allowed
        ],
    }


def secret_scopes(store: str = SECRET_STORE) -> list[dict[str, Any]]:
    return [
        {
            "storeName": store,
            "defaultAccess": "deny",
            "allowedSecrets": list(READABLE_SECRETS),
        }
    ]


# -- per-stack secrets ------------------------------------------------------------------------
@dataclass(frozen=True)
class Credentials:
    admin_token: str
    redis_password: str
    api_tokens: dict[str, str]  # DAPR_API_TOKEN of each app's sidecar
    app_tokens: dict[str, str]  # APP_API_TOKEN: what each sidecar sends to its app

    @classmethod
    def create(cls, apps: tuple[str, ...] = APP_IDS) -> Credentials:
        def new() -> str:
            return secrets.token_urlsafe(32)

        return cls(new(), new(), {a: new() for a in apps}, {a: new() for a in apps})

    @classmethod
    def load_or_create(cls, workdir: Path, apps: tuple[str, ...] = APP_IDS) -> Credentials:
        """This stack's secrets: made once at first start, kept across restarts."""
        found = cls.load(workdir)
        if found is not None and set(apps) <= set(found.api_tokens):
            found.write_curl_configs(workdir)  # a stack made before a config was added
            return found
        creds = cls.create(apps)
        creds.save(workdir)
        return creds

    @classmethod
    def load(cls, workdir: Path) -> Credentials | None:
        store, tokens = secrets_dir(workdir) / "store.json", secrets_dir(workdir) / "tokens.json"
        if not (store.exists() and tokens.exists()):
            return None
        s, t = json.loads(store.read_text()), json.loads(tokens.read_text())
        return cls(s[ADMIN_SECRET], s[REDIS_SECRET], t["dapr-api-token"], t["app-api-token"])

    def save(self, workdir: Path) -> None:
        out = secrets_dir(workdir)
        out.mkdir(parents=True, exist_ok=True)
        out.chmod(0o700)
        store = {ADMIN_SECRET: self.admin_token, REDIS_SECRET: self.redis_password}
        tokens = {"dapr-api-token": self.api_tokens, "app-api-token": self.app_tokens}
        for name, data in (("store.json", store), ("tokens.json", tokens)):
            write_private(out / name, json.dumps(data, indent=1))
        self.write_curl_configs(workdir)

    def write_curl_configs(self, workdir: Path) -> None:
        """For a person at the stack: `curl -K .run/secrets/curl/inventory localhost:8002/...`
        sends what an operator needs without a secret on the command line or the screen;
        `curl/<app>-sidecar` what the app sends to its own sidecar (to call as the app:
        `curl -K .run/secrets/curl/orders-sidecar localhost:3501/v1.0/invoke/...`)."""
        out = secrets_dir(workdir) / "curl"
        out.mkdir(mode=0o700, parents=True, exist_ok=True)
        for app in self.app_tokens:
            lines = [f'header = "{k}: {v}"' for k, v in self.operator_headers(app).items()]
            write_private(out / app, "\n".join(lines) + "\n")
            as_app = f'header = "dapr-api-token: {self.api_tokens[app]}"\n'
            write_private(out / f"{app}-sidecar", as_app)

    def operator_headers(self, app_id: str) -> dict[str, str]:
        """What an operator holding this stack's secrets sends to an app directly: the
        token its sidecar would send, and the admin token."""
        return {"dapr-api-token": self.app_tokens[app_id], "X-Admin-Token": self.admin_token}

    def operator_auth(self) -> dict[str, dict[str, str]]:
        """`operator_headers` of every app, keyed by app-id (what `verify` takes)."""
        return {app: self.operator_headers(app) for app in self.app_tokens}

    def __repr__(self) -> str:  # never print a secret by accident
        return f"Credentials(apps={sorted(self.api_tokens)}, values hidden)"


def secrets_dir(workdir: Path) -> Path:
    return workdir / "secrets"


def write_private(path: Path, text: str) -> None:
    """Create or replace `path` with mode 0600 from the start (no window where it's 0644)."""
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    tmp.replace(path)


# -- who may get an identity from Sentry --------------------------------------------------------
def spiffe_id(name: str) -> str:
    """The SPIFFE ID a self-hosted Dapr process asks Sentry for: the control plane's in
    its own trust domain, apps' in the public one."""
    domain = CONTROL_PLANE_TRUST_DOMAIN if name.startswith("dapr-") else TRUST_DOMAIN
    return f"spiffe://{domain}/ns/{SELF_HOSTED_NAMESPACE}/{name}"


def sentry_tokens(workdir: Path, names: list[str]) -> Path:
    """Vouch for each of `names` (app-ids, dapr-placement, dapr-scheduler): a new signing key
    per start, a JWT per process (`sub` its SPIFFE ID, `aud` Sentry) in a 0600 file that the
    process reads through DAPR_SENTRY_TOKEN_FILE, and the public key as a JWKS for Sentry's
    jwks validator. Without a token signed by this key, Sentry signs no identity: a local
    process cannot claim to be orders. Returns the JWKS file."""
    import time

    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    out = secrets_dir(workdir)
    out.mkdir(parents=True, exist_ok=True)
    jwks = out / "sentry-jwks.json"
    write_private(jwks, json.dumps(public_jwks(key)))
    now = int(time.time())
    for name in names:
        claims = {"sub": spiffe_id(name), "aud": SENTRY_ID, "iat": now, "exp": now + 365 * 86400}
        write_private(sentry_token_file(workdir, name), sign(claims, key))
    return jwks


def key_id(key: EllipticCurvePrivateKey) -> str:
    """A key's `kid`: its public JWK's thumbprint (RFC 7638), the same for a key reloaded."""
    import base64
    import hashlib

    jwk = public_jwk(key)
    members = json.dumps({k: jwk[k] for k in ("crv", "kty", "x", "y")}, separators=(",", ":"))
    digest = hashlib.sha256(members.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def public_jwk(key: EllipticCurvePrivateKey) -> dict[str, str]:
    import jwt

    jwk: dict[str, str] = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(key.public_key()))
    return jwk


def public_jwks(key: EllipticCurvePrivateKey) -> dict[str, list[dict[str, str]]]:
    """The JWKS that verifies what `sign` signs with `key` (ES256)."""
    return {"keys": [{**public_jwk(key), "kid": key_id(key), "alg": "ES256", "use": "sig"}]}


def sign(claims: dict[str, Any], key: EllipticCurvePrivateKey) -> str:
    """A compact ES256 JWT of `claims`, its header naming the key (`kid`)."""
    import jwt

    return jwt.encode(claims, key, algorithm="ES256", headers={"kid": key_id(key)})


def sentry_token_file(workdir: Path, name: str) -> Path:
    return secrets_dir(workdir) / f"sentry-token-{name}"

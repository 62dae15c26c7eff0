"""Who may do what is derived from the saga: access policies, topic ownership, secrets."""

from pathlib import Path

import yaml

from daprshop import security
from daprshop.security import Credentials
from daprshop.stack import _without_access_control
from daprshop.topology import APP_IDS
from tests.unit.four_step import FOUR_STEP

COMPONENTS = Path(__file__).resolve().parents[2] / "components"


def _allowed(policy: dict) -> dict[str, list[tuple[str, tuple[str, ...]]]]:
    return {
        p["appId"]: [
            (op["name"], tuple(op["httpVerb"])) for op in p["operations"] if op["action"] == "allow"
        ]
        for p in policy["policies"]
    }


def test_only_orders_may_invoke_a_participant_and_only_its_commands() -> None:
    policy = security.access_control("payments")
    assert policy["defaultAction"] == "deny"
    assert all(p["defaultAction"] == "deny" for p in policy["policies"])
    assert _allowed(policy) == {
        "orders": [
            ("/commands/ChargePayment", ("POST",)),
            ("/commands/RefundPayment", ("POST",)),
            ("/healthz", ("GET",)),  # the wiring check
        ]
    }


def test_only_the_edge_may_invoke_orders_and_only_its_public_order_api() -> None:
    policy = security.access_control("orders")
    assert policy["defaultAction"] == "deny"
    assert all(p["defaultAction"] == "deny" for p in policy["policies"])
    assert _allowed(policy) == {
        "edge": [("/orders/*", ("GET", "POST")), ("/orders/**/status", ("GET",))]
    }


def test_the_edge_reaches_only_routes_orders_serves_without_a_token() -> None:
    from orders.api import PUBLIC

    assert set(security.EDGE_ROUTES) <= set(PUBLIC)


def test_a_new_participant_gets_its_policy_from_the_saga() -> None:
    policy = security.access_control("loyalty", saga=FOUR_STEP)
    assert _allowed(policy) == {
        "orders": [
            ("/commands/AwardPoints", ("POST",)),
            ("/commands/RevokePoints", ("POST",)),
            ("/healthz", ("GET",)),
        ]
    }
    assert security.subscribed_topics("loyalty", FOUR_STEP) == (
        "payments",
        "shipping",
        "diagnostics",
    )
    # shipping now starts from PointsAwarded: it listens to loyalty, not payments
    assert "loyalty" in security.subscribed_topics("shipping", FOUR_STEP)
    assert "payments" not in security.subscribed_topics("shipping", FOUR_STEP)


def test_each_app_publishes_only_to_its_own_topic() -> None:
    for app in APP_IDS:
        own = set(security.publishing_topics(app))
        others = set(APP_IDS) - {app}
        assert app in own and not own & others, app
        assert f"default{app}{app}outbox" in own  # the outbox's internal topic (Dapr 1.18)
    assert security.outbox_topic("orders", "daprshop") == "daprshopordersordersoutbox"


def test_the_rendered_components_carry_the_derived_scopes() -> None:
    """components/pubsub.yaml and each configuration are rendered from security.py."""
    pubsub = yaml.safe_load((COMPONENTS / "pubsub.yaml").read_text())
    meta = {m["name"]: m.get("value") for m in pubsub["spec"]["metadata"]}
    assert {k: meta[k] for k in security.pubsub_scopes()} == security.pubsub_scopes()
    for app in APP_IDS:
        config = yaml.safe_load((COMPONENTS / "configuration" / f"{app}.yaml").read_text())
        assert config["spec"]["accessControl"] == security.access_control(app)
        assert config["spec"]["secrets"]["scopes"] == security.secret_scopes()


def test_security_off_drops_only_the_access_policy() -> None:
    text = (COMPONENTS / "configuration" / "payments.yaml").read_text()
    config = yaml.safe_load(_without_access_control(text))
    assert "accessControl" not in config["spec"]
    assert config["spec"]["secrets"] == yaml.safe_load(text)["spec"]["secrets"]


def test_secrets_are_random_per_stack_private_and_kept(tmp_path: Path) -> None:
    a = Credentials.load_or_create(tmp_path / "a")
    b = Credentials.load_or_create(tmp_path / "b")
    assert a.admin_token != b.admin_token and a.redis_password != b.redis_password
    assert len({*a.api_tokens.values(), *a.app_tokens.values()}) == 2 * len(APP_IDS)
    assert Credentials.load_or_create(tmp_path / "a") == a  # a restart keeps them
    for path in (tmp_path / "a" / "secrets").rglob("*"):
        mode = path.stat().st_mode & 0o777
        assert mode in (0o600, 0o700), (path, oct(mode))
    assert a.admin_token not in repr(a)


def test_sentry_tokens_name_each_identity_for_sentry(tmp_path: Path) -> None:
    import jwt

    jwks = security.sentry_tokens(tmp_path, ["orders", "dapr-placement"])
    keys = jwt.PyJWKSet.from_json(jwks.read_text())
    token = security.sentry_token_file(tmp_path, "orders").read_text()
    claims = jwt.decode(token, keys.keys[0].key, algorithms=["ES256"], audience=security.SENTRY_ID)
    assert claims["sub"] == "spiffe://public/ns/default/orders"
    placement = security.sentry_token_file(tmp_path, "dapr-placement").read_text()
    claims = jwt.decode(
        placement, keys.keys[0].key, algorithms=["ES256"], audience=security.SENTRY_ID
    )
    assert claims["sub"] == "spiffe://localhost/ns/default/dapr-placement"
    assert security.sentry_token_file(tmp_path, "orders").stat().st_mode & 0o077 == 0

"""The edge's local token issuer and its rendered files: tokens the JWKS verifies, a key that
stays private and stable, the stack's ports in the middleware, nothing off loopback."""

from pathlib import Path

import jwt
import pytest
import yaml

from daprshop import edge
from daprshop.topology import Topology

TOPO = Topology.defaults(env={})


def _verify(workdir: Path, token: str) -> dict[str, object]:
    jwks = jwt.PyJWKSet.from_json((edge.publish_jwks(workdir) / "jwks.json").read_text())
    kid = jwt.get_unverified_header(token)["kid"]
    key = next(k for k in jwks.keys if k.key_id == kid)
    claims: dict[str, object] = jwt.decode(
        token, key.key, algorithms=["ES256"], audience=edge.AUDIENCE, issuer=edge.issuer_url(TOPO)
    )
    return claims


def test_a_minted_token_verifies_against_the_published_jwks(tmp_path: Path) -> None:
    token = edge.mint(tmp_path, TOPO, "shop-frontend", ttl_s=120, now=1_000_000_000)
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims == {
        "iss": "http://127.0.0.1:8090",
        "aud": "daprshop-edge",
        "sub": "shop-frontend",
        "iat": 1_000_000_000,
        "exp": 1_000_000_120,
    }
    fresh = edge.mint(tmp_path, TOPO, "shop-frontend")
    assert _verify(tmp_path, fresh)["sub"] == "shop-frontend"


def test_an_expired_token_does_not_verify(tmp_path: Path) -> None:
    with pytest.raises(jwt.ExpiredSignatureError):
        _verify(tmp_path, edge.mint(tmp_path, TOPO, ttl_s=60, now=1_000_000_000))


def test_a_lifetime_must_be_positive(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="positive"):
        edge.mint(tmp_path, TOPO, ttl_s=0)


def test_the_key_is_private_kept_across_restarts_and_not_in_the_jwks(tmp_path: Path) -> None:
    token = edge.mint(tmp_path, TOPO)
    key_file = tmp_path / "secrets" / edge.ISSUER_KEY
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "secrets").stat().st_mode & 0o077 == 0
    published = (edge.publish_jwks(tmp_path) / "jwks.json").read_text()
    assert '"d"' not in published and "PRIVATE" not in published
    assert sorted(p.name for p in (tmp_path / "edge" / "issuer").iterdir()) == ["jwks.json"]
    assert _verify(tmp_path, token)  # the key reloaded from its file: same key, same kid


def test_the_edges_files_name_the_stacks_issuer_and_name_resolution(tmp_path: Path) -> None:
    topo = Topology.defaults(env={"DAPRSHOP_ISSUER_PORT": "18090"})  # a stack of its own
    resources, config = edge.render(tmp_path, topo, ("/tmp/daprshop-nameresolution.db", "/x/nr.db"))
    docs = [d for p in sorted(resources.glob("*.yaml")) for d in yaml.safe_load_all(p.read_text())]
    assert {d["metadata"]["name"] for d in docs} == {"edge-bearer", "edge-no-urls"}
    assert all(d["scopes"] == ["edge"] for d in docs)
    bearers = [d for d in docs if d["spec"]["type"] == "middleware.http.bearer"]
    for d in bearers:
        meta = {m["name"]: m["value"] for m in d["spec"]["metadata"]}
        assert meta["issuer"] == edge.issuer_url(topo)
        assert meta["jwksURL"] == f"{edge.issuer_url(topo)}/jwks.json"
    spec = yaml.safe_load(config.read_text())["spec"]
    assert spec["nameResolution"]["configuration"]["connectionString"] == "/x/nr.db"
    assert [h["name"] for h in spec["httpPipeline"]["handlers"]] == ["edge-bearer"]
    assert spec["api"]["allowed"][0] == {"name": "invoke", "version": "v1.0", "protocol": "http"}
    assert [r["protocol"] for r in spec["api"]["allowed"]] == ["http", "grpc"]  # gRPC closed
    assert spec["features"] == [{"name": "HotReload", "enabled": False}]
    assert edge.issuer_url(topo) == "http://127.0.0.1:18090"


def test_the_edge_has_no_app_and_listens_on_loopback_only(tmp_path: Path) -> None:
    argv = edge.daprd_argv(Path("daprd"), TOPO, tmp_path, tmp_path / "c.yaml")
    assert "--app-port" not in argv
    for flag in ("--dapr-listen-addresses", "--metrics-listen-address"):
        assert argv[argv.index(flag) + 1] == "127.0.0.1"
    assert argv[argv.index("--dapr-http-port") + 1] == "3510"  # behind nginx on 8000
    assert (
        argv[argv.index("--allowed-origins") + 1] == "http://127.0.0.1:8001,http://localhost:8001"
    )
    issuer = edge.issuer_argv(tmp_path, TOPO)
    assert issuer[issuer.index("--bind") + 1] == "127.0.0.1"

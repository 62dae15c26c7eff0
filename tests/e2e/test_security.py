"""Zero trust on make run's topology: every probe of `daprshop audit` is refused, every
listener is on loopback, sidecars take mTLS identities from Sentry, and a sidecar without
the stack's trust anchors (or with another identity) cannot call an app."""

from __future__ import annotations

import contextlib
import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from daprshop import audit
from daprshop.security import sentry_token_file
from daprshop.stack import Stack
from daprshop.topology import Topology
from tests.shop import Shop, http
from tests.waiting import eventually

pytestmark = pytest.mark.e2e


@pytest.fixture
def shop(stack: Stack) -> Shop:
    return Shop.of(stack)


@pytest.mark.parametrize("probe", audit.probes(), ids=lambda p: p.name)
def test_probe_is_refused(stack: Stack, probe: audit.Probe) -> None:
    answer = probe.run(audit.Target(stack.topo, stack.credentials, workdir=stack.workdir))
    assert answer.refused, f"{probe.attempt}: answered {answer.what}"


def test_forged_events_and_charges_left_no_trace(stack: Stack, shop: Shop) -> None:
    """After every probe, payments holds no charge for a forged order: nothing got through
    and was merely answered with an error afterwards."""
    audit.run(audit.Target(stack.topo, stack.credentials, workdir=stack.workdir))
    status, page, _ = http("GET", f"{shop.payments}/payments?page=0", headers=shop.auth("payments"))
    assert status == 200, page
    forged = [r for r in page["records"] if r["order_id"].startswith("forged-")]
    assert forged == []


def test_every_listener_is_on_loopback(stack: Stack) -> None:
    groups = {n: p.popen.pid for n, p in stack.procs.items() if p.popen is not None}
    found = audit.listeners(groups)
    expected = {"redis", "sentry", "orders-daprd", "payments", "edge-daprd", "edge-nginx"}
    expected |= {"issuer", "zipkin"}
    assert {x.process for x in found} >= expected
    assert audit.exposed(found) == []
    # the only exceptions: Dapr 1.18.2's control-plane health servers (docs/security.md)
    wildcard = {x.process for x in found if not x.loopback}
    assert wildcard <= audit.UPSTREAM_WILDCARD, wildcard


def test_sidecars_take_their_identity_from_sentry(stack: Stack) -> None:
    for app in stack.apps:
        log = (stack.logs / f"{app}-daprd.log").read_text()
        assert "Security is initialized successfully" in log, app
        assert "Starting workload identity expiry watcher" in log, app


def test_secrets_and_keys_are_private_files(stack: Stack) -> None:
    private = [
        stack.workdir / "secrets" / "store.json",
        stack.workdir / "secrets" / "tokens.json",
        stack.workdir / "redis.conf",
        stack.workdir / "sentry" / "ca.crt",
        stack.workdir / "sentry" / "issuer.key",
    ]
    for path in private:
        assert path.stat().st_mode & 0o077 == 0, f"{path} is readable by others"


def test_no_secret_is_on_a_command_line(stack: Stack) -> None:
    values = [stack.credentials.admin_token, stack.credentials.redis_password]
    values += [*stack.credentials.api_tokens.values(), *stack.credentials.app_tokens.values()]
    for proc in stack.procs.values():
        assert proc.popen is not None
        argv = Path(f"/proc/{proc.popen.pid}/cmdline").read_bytes().decode(errors="replace")
        assert not [v for v in values if v in argv], proc.name


# -- a sidecar that is not one of ours ------------------------------------------------------
def _rogue(
    stack: Stack, workdir: Path, app_id: str, *, mtls: bool, token: Path | None = None
) -> subprocess.Popen[bytes]:
    """A daprd that resolves the stack's apps, claiming `app_id`, with or without the
    stack's trust anchors and a Sentry token file."""
    p = Topology.free().apps["orders"]
    config = stack.workdir / "config" / "payments.yaml"  # its name resolution; any app's
    (workdir / "empty").mkdir(parents=True, exist_ok=True)
    argv = [
        str(stack.bin_dir / "daprd"),
        *("--app-id", app_id, "--dapr-http-port", str(p.http), "--dapr-grpc-port"),
        *(str(p.grpc), "--dapr-internal-grpc-port", str(p.internal), "--metrics-port"),
        *(str(p.metrics), "--dapr-listen-addresses", "127.0.0.1"),
        *("--dapr-internal-grpc-listen-address", "127.0.0.1", "--resources-path"),
        *(str(workdir / "empty"), "--config", str(config)),
        *("--placement-host-address", "", "--scheduler-host-address", ""),
    ]
    env = {**os.environ, "DAPR_HOST_IP": "127.0.0.1"}
    if mtls:
        argv += ["--enable-mtls", "--sentry-address", f"127.0.0.1:{stack.topo.sentry}"]
        env["DAPR_TRUST_ANCHORS"] = (stack.workdir / "sentry" / "ca.crt").read_text()
    if token is not None:
        env["DAPR_SENTRY_TOKEN_FILE"] = str(token)
    with open(workdir / f"{app_id}.log", "wb") as out:
        proc = subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT)
    proc.url = f"http://127.0.0.1:{p.http}"  # type: ignore[attr-defined]
    return proc


def _answers(url: str) -> bool:
    try:
        return http("GET", url)[0] == 204
    except OSError:  # nothing listens: it never started its API
        return False


@contextlib.contextmanager
def running(proc: subprocess.Popen[bytes]) -> Iterator[subprocess.Popen[bytes]]:
    try:
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_a_sidecar_without_the_trust_anchors_cannot_call_any_app(
    stack: Stack, shop: Shop, tmp_path: Path
) -> None:
    """A daprd without mTLS reaches the stack's name resolution, but every call to an app's
    sidecar fails at TLS: nothing is charged."""
    oid = f"forged-plain-{uuid.uuid4().hex[:8]}"
    body = {**audit._charge(), "order_id": oid}
    with running(_rogue(stack, tmp_path, "intruder", mtls=False)) as proc:
        url = proc.url  # type: ignore[attr-defined]
        eventually(
            lambda: _answers(f"{url}/v1.0/healthz/outbound") or None,
            timeout=30,
            what="intruder's daprd",
        )
        for app in ("payments", "inventory", "shipping", "orders"):
            status, answer, _ = http("POST", f"{url}/v1.0/invoke/{app}/method/healthz")
            assert status >= 500, (app, status, answer)
        status, answer, _ = http(
            "POST", f"{url}/v1.0/invoke/payments/method/commands/ChargePayment", body
        )
        assert status >= 500, answer
    assert shop.payment(oid) is None


@pytest.mark.parametrize("token", [None, "shipping"], ids=["no-token", "shipping-token"])
def test_sentry_gives_no_identity_as_orders_without_the_launchers_token(
    stack: Stack, tmp_path: Path, token: str | None
) -> None:
    """Sentry's jwks validator signs only identities the launcher vouched for: a daprd with
    the trust anchors that claims to be orders, with no token or with shipping's, gets no
    certificate and cannot start."""
    token_file = sentry_token_file(stack.workdir, token) if token else None
    log = tmp_path / "orders.log"
    with running(_rogue(stack, tmp_path, "orders", mtls=True, token=token_file)) as proc:
        # no token: "a validator name must be specified"; shipping's: "token validation failed"
        eventually(lambda: proc.poll(), timeout=60, what="the false orders' daprd to exit")
        text = log.read_text(errors="replace")
        assert "failed to retrieve the initial identity" in text, text[-2000:]
        assert ("token validation failed" in text) == (token is not None), text[-2000:]
        assert not _answers(f"{proc.url}/v1.0/healthz")  # type: ignore[attr-defined]

"""The shipped docker-compose.yml, run for real: `up -d --build --wait` on this machine's
engine (installed and started when missing: `daprshop engine`), with local stand-ins for the
third-party images (no registry here: `daprshop standins`), under a random project name, on
free loopback ports and with secrets of its own; the business scenarios in each mode, each
mode's order as one trace in Zipkin, `daprshop verify`, restarts of an app and of its
sidecar, a 20 s locust run from compose's locust service; and `down -v` at the end, also
when a test failed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest

from daprshop import engine, standins
from daprshop.composestack import ComposeStack
from daprshop.dockerd import stop_dockerd
from tests.e2e import test_saga_outcomes as outcomes
from tests.e2e import test_tracing as tracing
from tests.shop import TERMINAL, Shop

pytestmark = pytest.mark.e2e
MODES = ["choreography", "orchestration", "hybrid"]
SKU = outcomes.SKU
RESTART_DEADLINE_S = 10.0  # from the restart's return to every mode's order ended


def _say(config: pytest.Config, line: str) -> None:
    """A line on the terminal even under pytest's capture: what the run substituted."""
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line(line)
    else:
        print(line, file=sys.stderr)


@pytest.fixture(scope="module")
def compose(
    pytestconfig: pytest.Config, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ComposeStack]:
    """The compose stack, healthy; `down -v` afterwards however the tests ended, and then no
    container, network or volume of its project may be left. A dockerd started here is
    stopped too; images stay in the engine's store (the next run reuses its layers)."""
    capture = pytestconfig.pluginmanager.getplugin("capturemanager")
    with capture.global_and_fixture_disabled():  # installs and builds: show their progress
        started = engine.ensure_engine()
        built = standins.ensure_standins()
    try:
        stack = ComposeStack.create(
            tmp_path_factory.mktemp("compose"), {var: s.image for var, s in built.items()}
        )
        _say(pytestconfig, f"compose project {stack.project}: images substituted (no registry):")
        for var, s in built.items():
            _say(pytestconfig, f"  {var}={s.image}  instead of {s.upstream}")
        try:
            took = stack.up()
            _say(pytestconfig, f"compose up --build --wait: every service healthy in {took:.1f}s")
            yield stack
        finally:
            try:
                stack.down()
            finally:
                left = stack.leftovers()
                assert not left, f"`docker compose down -v` left {left}"
    finally:
        if started.started_pid is not None:
            stop_dockerd()


@pytest.fixture(scope="module")
def shop(compose: ComposeStack) -> Shop:
    return Shop(compose.app_urls(), compose.creds)


@pytest.fixture
def sku(shop: Shop) -> str:
    shop.set_stock({SKU: 100})
    return SKU


@pytest.fixture(scope="module")
def traces(compose: ComposeStack) -> str:
    """compose's Zipkin, as the host sees it (the URL orders links each order's trace to)."""
    return f"http://127.0.0.1:{compose.ports['ZIPKIN']}"


def test_every_service_is_running_and_healthy_after_up_wait(compose: ComposeStack) -> None:
    ps = compose.at_up
    assert set(ps) == set(compose.services())
    unhealthy = {s: (r["State"], r["Health"]) for s, r in ps.items() if r["Health"] != "healthy"}
    assert not unhealthy, f"not healthy after up --wait: {unhealthy}"


def test_only_the_apps_zipkin_and_locust_are_published_on_loopback(compose: ComposeStack) -> None:
    published = {
        (r["Service"], p["URL"], p["PublishedPort"])
        for r in compose.ps().values()
        for p in r["Publishers"]
        if p["PublishedPort"]
    }
    expected = {(svc, "127.0.0.1", compose.ports[name]) for name, svc in _publishers()}
    assert published == expected


def _publishers() -> list[tuple[str, str]]:
    from daprshop.composestack import PORT_VARS

    return list(PORT_VARS.items())


# The business scenarios of tests/e2e/test_saga_outcomes.py, each mode, on compose's stack
# (this module's `shop` and `sku` fixtures): the same assertions, no copy.
test_happy_path_completes = outcomes.test_happy_path_completes_with_reserve_charge_schedule_in_order
test_out_of_stock_cancels = outcomes.test_out_of_stock_cancels_without_charge_or_shipment
test_over_the_credit_limit_declines = (
    outcomes.test_over_the_credit_limit_declines_and_gives_the_stock_back
)
test_unshippable_refunds = (
    outcomes.test_unshippable_destination_refunds_the_charge_and_restores_stock
)
# ... and tests/e2e/test_tracing.py's: one order per mode is one trace in compose's Zipkin.
test_one_order_is_one_trace = tracing.test_one_order_is_one_trace_across_all_four_apps


def _verify(compose: ComposeStack) -> subprocess.CompletedProcess[str]:
    urls = [f"--{app}-url={url}" for app, url in compose.app_urls().items()]
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "daprshop.cli",
            "verify",
            "--deadline",
            "90",
            *urls,
            "--compose-secrets",
            str(compose.secrets_dir),
        ],
        capture_output=True,
        text=True,
        timeout=240,
        env=dict(os.environ),
    )


def test_daprshop_verify_passes(compose: ComposeStack, shop: Shop) -> None:
    result = _verify(compose)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "all invariants hold" in result.stdout


def _place_retrying(shop: Shop, mode: str, deadline: float) -> str:
    """Place one order, retrying while orders answers 503 (its sidecar is coming back: the
    client's side of Retry-After) or the connection is refused, until `deadline`."""
    while True:
        try:
            status, body, _ = shop.place([(SKU, 1)], mode=mode)
        except OSError as err:  # the app is restarting: connection refused or reset
            status, body = 0, str(err)
        if status == 202:
            return str(body["order_id"])
        assert status in (0, 503), (status, body)
        assert time.monotonic() < deadline, f"orders still answers {status}: {body}"
        time.sleep(0.2)  # a client's back-off before the next try


def _started_at(compose: ComposeStack, service: str) -> str:
    cid = compose.compose("ps", "-q", service).strip()
    out = subprocess.run(
        ["docker", "inspect", "-f", "{{.State.StartedAt}}", cid],
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.strip()


@pytest.mark.parametrize("service", ["orders", "orders-daprd", "payments", "payments-daprd"])
def test_after_a_restart_an_order_in_each_mode_completes_within_10s(
    compose: ComposeStack, shop: Shop, sku: str, service: str
) -> None:
    before = _started_at(compose, service)
    compose.restart(service)
    restarted = time.monotonic()
    assert _started_at(compose, service) != before, f"{service} was not restarted"
    deadline = restarted + RESTART_DEADLINE_S
    ids = {mode: _place_retrying(shop, mode, deadline) for mode in MODES}
    ended: dict[str, dict[str, Any]] = {}
    while len(ended) < len(ids) and time.monotonic() < deadline:
        for mode, oid in ids.items():
            if mode not in ended and (order := shop.order(oid))["status"] in TERMINAL:
                ended[mode] = order
        time.sleep(0.1)  # polling interval of a deadline-bound wait
    took = time.monotonic() - restarted
    assert set(ended) == set(ids), (
        f"after restarting {service}, not ended within {RESTART_DEADLINE_S:.0f}s:"
        f" {sorted(set(ids) - set(ended))}\n{compose.logs(service)}"
    )
    assert {m: o["status"] for m, o in ended.items()} == dict.fromkeys(MODES, "COMPLETED")
    print(f"{service}: restarted, 3 orders ended {took:.1f}s later")


def test_a_20s_headless_locust_run_from_compose_has_no_failures(
    compose: ComposeStack, shop: Shop
) -> None:
    out = compose.compose(
        "run",
        "--rm",
        "--no-deps",
        "-e",
        "DAPRSHOP_MODE=hybrid",
        "-e",
        "DAPRSHOP_RATE=5",
        "locust-master",
        "--headless",
        "-u",
        "5",
        "-r",
        "5",
        "--run-time",
        "20s",
        "--json",
        "--host",
        f"http://orders:{_container_port('orders')}",
        timeout=180,
    )
    stats = json.loads(out[out.index("[") :])
    requests = {s["name"]: (s["num_requests"], s["num_failures"]) for s in stats}
    assert sum(n for n, _ in requests.values()) > 0, requests
    assert all(f == 0 for _, f in requests.values()), requests
    assert any(name.startswith("saga:") and n > 0 for name, (n, _) in requests.items()), requests
    result = _verify(compose)  # the orders locust placed keep the invariants too
    assert result.returncode == 0, result.stdout + result.stderr


def _container_port(app: str) -> int:
    from daprshop.topology import Topology

    return Topology.defaults({}).apps[app].app

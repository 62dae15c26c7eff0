"""Load balancing between the instances of one app-id, on a stack with two inventory
instances (each an app and its own sidecar, with the same app-id, components and tokens):
calls through orders' sidecar reach both (Dapr's SQLite name resolver picks a live
registration at random per call); orders in every mode complete with stock, money and
shipments conserved although both instances share inventory's state store and its pub/sub
consumer group; and when one instance is killed -9, orders still complete: its registration
expires within seconds, Dapr's retries carry the calls that picked it meanwhile, and its
unacknowledged messages are reclaimed by the other instance."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from daprshop import audit, balance
from daprshop.stack import Stack
from daprshop.supervision import read_status
from daprshop.topology import Topology
from tests.conftest import HYBRID_TIMEOUT_S, RECONCILE_AFTER_S, REDRIVE_AFTER_S
from tests.shop import Shop, http
from tests.waiting import eventually

pytestmark = pytest.mark.e2e
MODES = ("choreography", "orchestration", "hybrid")
INSTANCES = ("inventory", "inventory-2")
CALLS = 40  # both instances answer unless the random picks all fall on one: p = 2**-39
BREAKER_OPEN_S = 5  # components/resiliency.yaml: the participants' breaker's `timeout`
PROCESSING_TIMEOUT_S, REDELIVER_INTERVAL_S = 15, 5  # components/pubsub.yaml


@pytest.fixture(scope="module")
def balanced(dapr_bin: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The whole topology with a second inventory instance, and the e2e time-outs."""
    s = Stack(
        Topology.free(),
        tmp_path_factory.mktemp("balanced"),
        dapr_bin,
        replicas={"inventory": 2},
        app_env={
            "DAPRSHOP_HYBRID_TIMEOUT_S": str(HYBRID_TIMEOUT_S),
            "DAPRSHOP_RECONCILE_AFTER_S": str(RECONCILE_AFTER_S),
            "DAPRSHOP_REDRIVE_AFTER_S": str(REDRIVE_AFTER_S),
        },
    )
    s.start()
    try:
        yield s
    finally:
        s.stop()


@pytest.fixture(scope="module")
def shop(balanced: Stack) -> Shop:
    return Shop.of(balanced)


def via_orders(shop: Shop) -> balance.Call:
    """One GET of inventory's /healthz through orders' sidecar, as orders."""
    url = f"{shop.sidecar['orders']}/v1.0/invoke/inventory/method/healthz"

    def call() -> tuple[int, Any]:
        status, body, _ = http("GET", url, headers=shop.as_app("orders"))
        return status, body

    return call


def live_addresses(stack: Stack) -> set[str]:
    regs = balance.registrations(stack.workdir / "nr.db", "inventory")
    return {r.address for r in regs if r.live}


def address_of(stack: Stack, name: str) -> str:
    return f"127.0.0.1:{stack.instances[name][1].internal}"


def daprshop(stack: Stack, *args: str) -> subprocess.CompletedProcess[str]:
    """The CLI against this stack, as against make run's (its ports, its run directory)."""
    return subprocess.run(
        [sys.executable, "-m", "daprshop.cli", *args],
        env={**os.environ, **stack.topo.to_env(), "DAPRSHOP_RUN_DIR": str(stack.workdir)},
        capture_output=True,
        text=True,
        timeout=180,
    )


def counters(shop: Shop, stack: Stack, name: str) -> dict[str, int]:
    """An inventory instance's own counters (commands applied, duplicates absorbed...)."""
    url = f"{stack.urls()[name]['app']}/diagnostics/stats"
    return dict(http("GET", url, headers=shop.auth("inventory"))[1])


def applied(shop: Shop, stack: Stack) -> dict[str, int]:
    return {n: counters(shop, stack, n).get("applied", 0) for n in INSTANCES}


def test_the_replica_listens_on_loopback_only(balanced: Stack) -> None:
    """inventory-2 and its sidecar, on their own ports, bind 127.0.0.1 like every process."""
    groups = {n: p.popen.pid for n, p in balanced.procs.items() if p.popen is not None}
    found = audit.listeners(groups)
    assert {x.process for x in found} >= {"inventory-2", "inventory-2-daprd"}
    assert audit.exposed(found) == []


def test_no_sidecar_runs_the_name_resolver_clean_up(balanced: Stack) -> None:
    """Its first run (an hour in) deletes the live registrations in components-contrib 1.18.3,
    and every sidecar exits "Host registration lost": cleanupInterval "0" turns it off, and
    daprd says nothing of scheduling it ("Schedule expired data clean up every 1h0m0s")."""
    assert balanced.edge  # the edge's sidecar resolves names through the same file
    for name in [*balanced.instances, "edge"]:
        log = (balanced.logs / f"{name}-daprd.log").read_text()
        assert "Configuring SQLite name resolution" in log, name
        assert "Schedule expired data clean up" not in log, name


def test_calls_through_orders_sidecar_reach_both_instances(balanced: Stack, shop: Shop) -> None:
    """Both instances are registered under `inventory`, and `daprshop balance` (make
    balance) shows calls through orders' sidecar answered by each."""
    assert live_addresses(balanced) == {address_of(balanced, n) for n in INSTANCES}
    result = balance.spread(via_orders(shop), CALLS)
    print("split of", CALLS, "calls:", dict(result.answered))
    assert not result.failed, result.failed
    assert set(result.answered) == set(INSTANCES)
    shown = daprshop(balanced, "balance", "--app", "inventory", "--calls", str(CALLS))
    print(shown.stdout)
    assert shown.returncode == 0, shown.stdout + shown.stderr
    assert "2 live registration(s)" in shown.stdout
    for name in INSTANCES:
        assert f"\n  {name} " in shown.stdout


def test_orders_race_for_stock_on_two_instances_and_nothing_is_reserved_twice(
    balanced: Stack, shop: Shop
) -> None:
    """Per mode, 10 orders of one unit race for 8 units: exactly 8 complete and 2 are
    cancelled out of stock, whichever instance handled which command (both did some);
    then `daprshop verify` finds every invariant holding."""
    before = applied(shop, balanced)
    for i, mode in enumerate(MODES):
        sku = f"SKU-02{i}"
        shop.set_stock({sku: 8})
        placed = [shop.place_ok([(sku, 1)], mode=mode)["order_id"] for _ in range(10)]
        ended = [shop.terminal(oid, timeout=90) for oid in placed]
        outcomes = sorted((o["status"], o["reason"]) for o in ended)
        assert outcomes == [("CANCELLED", "out_of_stock")] * 2 + [("COMPLETED", None)] * 8, mode
        shop.assert_conserved(ended, sku, 8)
    after = applied(shop, balanced)
    work = {n: after[n] - before[n] for n in INSTANCES}
    print("commands applied per instance:", work)
    assert all(work.values()), work
    verified = daprshop(balanced, "verify", "--deadline", "60")
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "all invariants hold" in verified.stdout


class Prober(threading.Thread):
    """Calls inventory's /healthz through orders' sidecar in a loop, as a caller would:
    the slowest call and every failure (when, what) are what a caller saw of an instance
    dying."""

    def __init__(self, call: balance.Call) -> None:
        super().__init__(daemon=True)
        self.call, self.stop, self.since = call, threading.Event(), time.monotonic()
        self.calls, self.slowest = 0, 0.0
        self.failures: list[tuple[float, int, Any]] = []

    def run(self) -> None:
        while not self.stop.is_set():
            started = time.monotonic()
            status, body = self.call()
            self.slowest = max(self.slowest, time.monotonic() - started)
            self.calls += 1
            if status != 200:
                self.failures.append((started - self.since, status, body))


def place_as_a_client(shop: Shop, sku: str, mode: str) -> tuple[str, int]:
    """POST /orders as a client does: a 503 ("retry") is retried with the same
    Idempotency-Key until accepted. Returns the order id and how many 503s it took."""
    key, refused = uuid.uuid4().hex, [0]

    def accepted() -> str | None:
        status, order, _ = shop.place([(sku, 1)], mode=mode, key=key)
        if status == 503:
            refused[0] += 1
            return None
        assert status == 202, order
        return str(order["order_id"])

    return eventually(accepted, timeout=30, what=f"a {mode} order to be accepted"), refused[0]


def test_an_instance_killed_mid_traffic_is_failed_over(balanced: Stack, shop: Shop) -> None:
    """kill -9 of inventory-2 (app and sidecar) while it holds reservations it applied but
    did not acknowledge yet, with calls running: its registration expires within the
    resolver's 5 s; meanwhile Dapr retries a call that picked the dead instance (resolving
    again each attempt), and what fails is refused by orders' breaker for inventory, which
    those failed attempts may open for its 5 s: no failure later than that; the other
    instance absorbs the redelivered commands as duplicates; every order placed before and
    after the kill completes, each reserved once. Brought back, inventory-2 answers again."""
    sku = "SKU-019"
    shop.set_stock({sku: 100})
    second = f"{balanced.urls()['inventory-2']['app']}/admin/faults"
    plan = {"commands": {"ReserveStock": {"delay_after_s": 10}}}  # applied, then silent
    assert http("PUT", second, plan, shop.auth("inventory"))[0] == 200
    held_before = counters(shop, balanced, "inventory-2").get("applied", 0)
    duplicates_before = counters(shop, balanced, "inventory").get("duplicates", 0)
    in_flight = [shop.place_ok([(sku, 1)], mode=m)["order_id"] for m in MODES for _ in range(3)]
    eventually(
        lambda: counters(shop, balanced, "inventory-2").get("applied", 0) > held_before or None,
        timeout=15,
        what="inventory-2 to apply a reservation it then holds back",
    )
    held = counters(shop, balanced, "inventory-2")["applied"] - held_before  # unacknowledged
    prober = Prober(via_orders(shop))
    killed_at = time.time()
    prober.start()
    balanced.kill("inventory-2")
    balanced.kill("inventory-2-daprd")
    placed = [place_as_a_client(shop, sku, m) for m in MODES for _ in range(3)]
    survivor = {address_of(balanced, "inventory")}
    eventually(
        lambda: True if live_addresses(balanced) == survivor else None,
        timeout=10,
        what="the killed instance's registration to expire",
    )
    expired = time.monotonic() - prober.since
    ended = {oid: shop.terminal(oid, timeout=90) for oid in in_flight + [o for o, _ in placed]}
    last = max(datetime.fromisoformat(o["terminal_at"]).timestamp() for o in ended.values())

    # Each comes back: a call with Dapr's retry; a message once pub/sub's processingTimeout
    # (15 s) has passed, at the next look for such messages (redeliverInterval, 5 s).
    def absorbed_all() -> bool | None:
        absorbed = counters(shop, balanced, "inventory").get("duplicates", 0) - duplicates_before
        return True if absorbed >= held else None

    eventually(
        absorbed_all,
        timeout=PROCESSING_TIMEOUT_S + REDELIVER_INTERVAL_S + 10,
        what=f"inventory to absorb the {held} command(s) inventory-2 held as duplicates",
    )
    absorbed = time.monotonic() - prober.since
    prober.stop.set()
    prober.join(timeout=30)
    failed_at = [round(t, 1) for t, _status, _body in prober.failures]
    print(
        f"registration expired {expired:.1f}s after the kill; {prober.calls} calls meanwhile, "
        f"{len(prober.failures)} failed (at {failed_at[:3]}...{failed_at[-3:]} s), slowest "
        f"{prober.slowest:.2f}s; placing took {sum(n for _, n in placed)} 503(s) in all; the "
        f"last of {len(ended)} orders ended {last - killed_at:.1f}s after the kill; the {held} "
        f"command(s) inventory-2 held absorbed as duplicates by inventory {absorbed:.1f}s after"
    )
    for _t, status, body in prober.failures:
        assert (status, body["errorCode"]) == (500, "ERR_DIRECT_INVOKE"), body
    assert all(t < expired + BREAKER_OPEN_S + 1 for t in failed_at), failed_at
    assert expired < balance.LIVE_FOR_S + 1
    assert all(o["status"] == "COMPLETED" for o in ended.values()), ended
    shop.assert_conserved(list(ended.values()), sku, 100)

    balanced.respawn("inventory-2", "inventory-2-daprd")
    eventually(
        lambda: True if len(live_addresses(balanced)) == 2 else None,
        timeout=15,
        what="inventory-2 to be registered again",
    )
    assert set(balance.spread(via_orders(shop), CALLS).answered) == set(INSTANCES)


def test_a_crashed_replica_is_restarted_like_any_process(balanced: Stack, shop: Shop) -> None:
    """The supervisor restarts a replica that dies (kill -9 of its app), the status file
    and the pid file list it, and it answers again through orders' sidecar."""
    before = balanced.procs["inventory-2"].restarts.total
    balanced.kill("inventory-2", hold=False)
    balanced.wait_restarted("inventory-2", after=before, timeout=60)
    status = read_status(balanced.workdir)
    assert status is not None
    assert status["processes"]["inventory-2"]["state"] == "running"
    assert status["processes"]["inventory-2"]["restarts"] == before + 1
    pids = (balanced.workdir / "pids.json").read_text()
    assert '"inventory-2"' in pids and '"inventory-2-daprd"' in pids
    assert "inventory-2" in balance.spread(via_orders(shop), CALLS).answered

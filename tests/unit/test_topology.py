"""The self-hosted topology: its app-ids (orders and the saga's participants), documented
default ports, overrides, and no collisions."""

from pathlib import Path

import pytest

from daprshop import topology
from daprshop.topology import APP_IDS, WORKFLOW_HOST, Topology
from daprshop_contracts.saga import ORDER_SAGA, PARTICIPANTS


def ports_of(t: Topology) -> list[int]:
    infra = [v for k, v in vars(t).items() if k != "apps"]
    return infra + [p for a in t.apps.values() for p in vars(a).values()]


def test_the_apps_are_orders_and_the_saga_participants_in_saga_order() -> None:
    """One source: a participant added to the saga definition is an app of the topology."""
    assert (
        APP_IDS == (WORKFLOW_HOST, *PARTICIPANTS) == ("orders", "inventory", "payments", "shipping")
    )
    assert {step.participant for step in ORDER_SAGA.steps} <= set(APP_IDS)


def test_defaults_are_the_documented_ones() -> None:
    """orders listens on 8001 with its sidecar on 3501; Redis on 6380 (README table)."""
    t = Topology.defaults(env={})
    assert (t.apps["orders"].app, t.apps["orders"].http, t.apps["orders"].grpc) == (
        8001,
        3501,
        50001,
    )
    assert (t.apps["shipping"].app, t.apps["shipping"].http) == (8004, 3504)
    assert (t.redis, t.placement, t.scheduler) == (6380, 50005, 50006)


def test_no_two_processes_share_a_port_by_default() -> None:
    """Healthz and metrics ports are per process, so nothing collides on 8080/9090."""
    ports = ports_of(Topology.defaults(env={}))
    assert len(ports) == len(set(ports))
    assert 8080 not in ports and 9090 not in ports


def test_a_fifth_and_sixth_app_get_ports_of_their_own(monkeypatch: pytest.MonkeyPatch) -> None:
    """Adding participants never lands an app on placement's or the scheduler's ports, and
    the first four apps keep theirs."""
    before = Topology.defaults(env={}).apps
    monkeypatch.setattr(topology, "APP_IDS", (*APP_IDS, "loyalty", "gifts"))
    grown = Topology.defaults(env={})
    ports = ports_of(grown)
    assert len(ports) == len(set(ports))
    assert {a: grown.apps[a] for a in before} == before


def test_any_port_can_be_overridden_by_environment() -> None:
    t = Topology.defaults(env={"DAPRSHOP_REDIS_PORT": "6390", "DAPRSHOP_ORDERS_APP_PORT": "9001"})
    assert (t.redis, t.apps["orders"].app, t.apps["inventory"].app) == (6390, 9001, 8002)


@pytest.mark.parametrize("bad", ["0", "70000", "http", "-1"])
def test_a_bad_port_fails_fast_naming_the_variable(bad: str) -> None:
    with pytest.raises(SystemExit, match="DAPRSHOP_REDIS_PORT"):
        Topology.defaults(env={"DAPRSHOP_REDIS_PORT": bad})


def test_free_ports_round_trip_through_the_environment() -> None:
    """A test stack's ports passed as env to a launcher subprocess are read back unchanged."""
    t = Topology.free()
    assert Topology.defaults(env=t.to_env()) == t
    assert set(t.apps) == set(APP_IDS)
    assert len(set(ports_of(t))) == len(ports_of(t))


def test_free_ports_are_distinct_and_outside_the_kernels_ephemeral_range() -> None:
    """An outgoing connection takes ports from the ephemeral range (ip_local_port_range): a
    test stack's port picked there was taken before placement bound it (`bind: address
    already in use`, seen in CI under load)."""
    low, high = (int(x) for x in Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split())
    topo = Topology.free()
    ports = [int(p) for p in topo.to_env().values()]
    assert len(set(ports)) == len(ports)
    assert not [p for p in ports if low <= p <= high], (low, high)

"""The invariant checks of `daprshop verify`, on hand-made service reports; the URLs it reads,
one per app of the topology."""

from typing import Any

from daprshop import cli
from daprshop.topology import APP_IDS, Topology
from daprshop.verify import check, orphans, urls_for

T0 = "2026-11-24T10:00:00+00:00"


def order(oid: str, status: str, total: int = 500, qty: int = 1, mode: str = "hybrid") -> dict:
    return {
        "order_id": oid,
        "status": status,
        "reason": None,
        "mode": mode,
        "total": total,
        "created_at": T0,
        "items": [{"sku": "S", "quantity": qty, "unit_price": total}],
    }


def stock(holds: dict[str, int], available: int, initial: int = 10) -> list[dict[str, Any]]:
    return [
        {
            "sku": "S",
            "initial": initial,
            "available": available,
            "holds": holds,
            "reset_at": "2026-11-24T09:00:00+00:00",
        }
    ]


def paid(amount: int, refunded: int = 0, times: int = 1) -> dict[str, Any]:
    return {"charged": amount, "refunded": refunded, "charges": [{"amount": amount}] * times}


SHIPPED = {"status": "scheduled"}


def test_a_consistent_run_has_no_violations() -> None:
    orders = [order("a", "COMPLETED"), order("b", "CANCELLED")]
    assert (
        check(
            orders,
            stock({"a": 1}, 9),
            {"a": paid(500), "b": paid(500, 500)},
            {"a": SHIPPED, "b": {"status": "failed"}},
        )
        == []
    )


def test_each_broken_invariant_names_the_order_or_sku() -> None:
    orders = [order("a", "COMPLETED"), order("b", "CANCELLED"), order("c", "PAID")]
    found = check(
        orders,
        stock({"a": 1, "b": 1}, 9),
        {"a": paid(500, times=2), "b": paid(500)},
        {"b": SHIPPED},
    )
    assert any("order c" in v and "not terminal" in v for v in found)
    assert any("SKU S: initial 10 != available 9 + held 2" in v for v in found)
    assert any("order b is CANCELLED but still holds 1" in v for v in found)
    assert any("order a was charged 2 times" in v for v in found)
    assert any("order b CANCELLED: charged 500 - refunded 0" in v for v in found)
    assert any("order a COMPLETED but no shipment" in v for v in found)
    assert any("order b CANCELLED but a shipment exists" in v for v in found)


def test_a_completed_order_must_have_shipped_its_units() -> None:
    found = check(
        [order("a", "COMPLETED", qty=2)], stock({"a": 1}, 9), {"a": paid(500)}, {"a": SHIPPED}
    )
    assert found == ["order a COMPLETED with 2 of S but 1 shipped"]


def test_urls_are_make_runs_per_app_unless_given() -> None:
    """One URL per app-id of the topology: the given one, else its app port on loopback."""
    topo = Topology.defaults(env={})
    urls = urls_for(topo, {"payments": "http://payments.example:80", "orders": None})
    assert list(urls) == list(APP_IDS)
    assert urls["payments"] == "http://payments.example:80"
    assert urls["orders"] == "http://127.0.0.1:8001"
    assert urls["shipping"] == f"http://127.0.0.1:{topo.apps['shipping'].app}"


def test_the_cli_takes_a_url_option_per_app_id() -> None:
    args = cli.parser().parse_args(["verify", *(f"--{a}-url=http://{a}:1" for a in APP_IDS)])
    assert {a: vars(args)[f"{a}_url"] for a in APP_IDS} == {a: f"http://{a}:1" for a in APP_IDS}


def test_a_charge_hold_and_shipment_of_an_unknown_order_are_each_reported() -> None:
    """Invariant 6, on fake listings: each effect of an order id orders does not know is
    named with its participant; known orders and tombstones (nothing to undo) are not."""
    known = {"a"}
    found = orphans(
        known,
        stock({"a": 1, "ghost-hold": 2}, 7),
        [
            {"order_id": "a", "status": "reserved"},
            {"order_id": "ghost-hold", "status": "reserved"},
            {"order_id": "ghost-resv", "status": "reserved"},
            {"order_id": "tomb", "status": "released"},
        ],
        [
            {"order_id": "a", **paid(500)},
            {"order_id": "ghost-charge", **paid(700)},
            {"order_id": "tomb", "charged": 0, "refunded": 0, "charges": []},
        ],
        [
            {"order_id": "a", "status": "scheduled", "shipment_id": "s-a"},
            {"order_id": "ghost-ship", "status": "scheduled", "shipment_id": "s-g"},
            {"order_id": "tomb", "status": "cancelled", "shipment_id": None},
        ],
    )
    assert found == {
        "ghost-hold": ["a hold of 2 S (inventory)"],
        "ghost-resv": ["a reservation (inventory)"],
        "ghost-charge": ["a charge of 700, refunded 0 (payments)"],
        "ghost-ship": ["shipment s-g (shipping)"],
    }

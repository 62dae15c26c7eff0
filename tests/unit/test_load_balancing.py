"""Replicas and what shows the balancing between them: which instances make run starts
(REPLICAS), what /healthz says of the instance, and how `daprshop balance` counts answers
and reads Dapr's name-resolution registrations."""

import socket
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest

from daprshop import balance
from daprshop.topology import instance_names, parse_replicas
from inventory.settings import Settings as InventorySettings
from tests.unit import apps
from tests.unit.asgi import call
from tests.unit.fakes import APP_TOKEN


def test_replicas_are_read_per_participant() -> None:
    assert parse_replicas("") == {}
    assert parse_replicas("inventory=2") == {"inventory": 2}
    assert parse_replicas(" inventory=2, payments=3 ,") == {"inventory": 2, "payments": 3}


@pytest.mark.parametrize(
    ("spec", "says"),
    [
        ("orders=2", "only participants"),  # hosts the workflow runtime and the reconciler
        ("loyalty=2", "only participants"),
        ("inventory", "the count is a number"),
        ("inventory=two", "the count is a number"),
        ("inventory=0", "the count is a number"),
        ("inventory=9", "from 1 to 5"),
    ],
)
def test_a_bad_replicas_value_says_what_to_write(spec: str, says: str) -> None:
    with pytest.raises(ValueError, match=says):
        parse_replicas(spec)


def test_an_app_first_instance_keeps_the_app_id_as_its_name() -> None:
    """So a stack without replicas has the processes and logs it always had."""
    assert instance_names("inventory", 1) == ["inventory"]
    assert instance_names("inventory", 3) == ["inventory", "inventory-2", "inventory-3"]


def test_healthz_names_the_instance(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DAPRSHOP_INSTANCE", "inventory-2")
    app = apps.inventory(settings=InventorySettings(app_api_token=APP_TOKEN))
    assert call(app, "GET", "/healthz").json() == {
        "status": "ok",
        "app_id": "inventory",
        "instance": "inventory-2",
    }


def test_an_instance_is_its_host_name_where_the_launcher_does_not_name_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """In a container or a pod, the host name tells replicas apart."""
    monkeypatch.delenv("DAPRSHOP_INSTANCE", raising=False)
    assert InventorySettings(app_api_token=APP_TOKEN).instance == socket.gethostname()


def test_spread_counts_answers_per_instance_and_failures_per_status() -> None:
    answers: list[tuple[int, Any]] = [
        (200, {"instance": "inventory"}),
        (200, {"instance": "inventory-2"}),
        (200, {"instance": "inventory"}),
        (500, {"errorCode": "ERR_DIRECT_INVOKE"}),
        (200, {"status": "ok"}),  # an app that does not say which instance it is
    ]
    result = balance.spread(iter(answers).__next__, len(answers))
    assert dict(result.answered) == {"inventory": 2, "inventory-2": 1}
    assert dict(result.failed) == {"500": 1, "200": 1}
    assert result.calls == 5


def hosts_db(path: Path, rows: list[tuple[str, str, int]]) -> Path:
    """A name-resolution file with the schema of components-contrib's SQLite resolver."""
    with sqlite3.connect(path) as db:
        db.execute(
            "CREATE TABLE hosts (registration_id TEXT NOT NULL PRIMARY KEY, address TEXT NOT "
            "NULL, app_id TEXT NOT NULL, namespace TEXT NOT NULL, last_update INTEGER NOT NULL)"
        )
        now = int(time.time())
        db.executemany(
            "INSERT INTO hosts VALUES (?, ?, ?, '', ?)",
            [(f"r{i}", address, app, now - age) for i, (address, app, age) in enumerate(rows)],
        )
    return path


def test_registrations_older_than_the_update_interval_are_expired(tmp_path: Path) -> None:
    """What the resolver picks from: rows renewed less than 5 s ago, of that app-id."""
    db = hosts_db(
        tmp_path / "nr.db",
        [("127.0.0.1:1", "inventory", 1), ("127.0.0.1:2", "inventory", 30), ("x:3", "orders", 0)],
    )
    regs = balance.registrations(db, "inventory")
    assert [(r.address, r.live) for r in regs] == [("127.0.0.1:1", True), ("127.0.0.1:2", False)]
    assert balance.registrations(tmp_path / "none.db", "inventory") == []


def test_the_report_shows_each_instance_share_and_a_hint_for_a_single_instance() -> None:
    regs = [balance.Registration("127.0.0.1:1", 1)]
    result = balance.Spread()
    result.answered.update({"inventory": 10})
    text = balance.report("inventory", regs, result, "orders' sidecar")
    assert "  inventory    10  100.0%  #####" in text
    assert "make run REPLICAS=inventory=2" in text
    result.failed.update({"503": 2})
    assert "failed 503" in balance.report("inventory", regs * 2, result, "orders' sidecar")

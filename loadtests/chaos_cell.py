"""One cell of the chaos matrix: a fresh stack, locust load in one mode, one fault injected
mid-load and stopped again, then the verdict: how long after the fault stopped every order
it touched was terminal, whether every accepted order ended within 30 s, and `verify`."""

from __future__ import annotations

import json
import threading
import time
import traceback
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from daprshop import runtime
from daprshop.stack import Stack
from daprshop.topology import Topology
from daprshop.verify import TERMINAL, all_orders, verify
from loadtests.chaos_faults import ChaosFault
from loadtests.harness import Run, run_locust

DEADLINE_S = 30.0  # DESIGN §9: after faults stop, every accepted order is terminal within this


@dataclass
class CellResult:
    fault: str
    kind: str
    mode: str
    out: Path
    orders: int = 0
    placed_after: int = 0  # of them, accepted after the fault stopped
    recovery_s: float | None = None  # fault stopped -> every order placed before it terminal
    all_terminal: bool = False  # every accepted order ended within DEADLINE_S of the load's end
    violations: list[str] = field(default_factory=list)
    wrong_outcomes: list[str] = field(default_factory=list)
    rejected: int = 0  # placements refused while the fault lasted (never accepted)
    stuck: list[dict[str, Any]] = field(default_factory=list)
    late: list[dict[str, Any]] = field(default_factory=list)  # not terminal 30 s after the fault
    late_count: int = 0
    dead_letters: int | None = None  # messages orders lists as dead-lettered (None: unread)
    error: str | None = None  # the harness itself failed (a process did not come back, ...)
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        return (
            self.error is None
            and self.recovery_s is not None
            and self.recovery_s <= DEADLINE_S
            and self.all_terminal
            and not self.violations
            and not self.wrong_outcomes
        )


class Clock:
    """Progress lines with the time since the cell started."""

    def __init__(self, label: str) -> None:
        self.label, self.t0 = label, time.monotonic()

    def say(self, text: str) -> None:
        print(f"  [{self.label}] t+{time.monotonic() - self.t0:5.1f}s {text}", flush=True)


def _orders(urls: dict[str, str]) -> list[dict[str, Any]] | None:
    """Every order, or None while orders cannot answer (it may be the process just killed)."""
    try:
        return all_orders(urls)
    except (SystemExit, OSError, ValueError):
        return None


def _await(probe: Callable[[], bool], deadline: float, pause: float = 0.25) -> bool:
    while True:
        if probe():
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(pause)  # polling interval of a deadline-bound wait


def _ended_before(orders: list[dict[str, Any]] | None, stopped: datetime) -> bool:
    if orders is None:
        return False
    touched = [o for o in orders if datetime.fromisoformat(o["created_at"]) <= stopped]
    return all(o["status"] in TERMINAL for o in touched)


def _evidence(orders_url: str, order_ids: list[str]) -> list[dict[str, Any]]:
    out = []
    for oid in order_ids:
        try:
            with urllib.request.urlopen(f"{orders_url}/orders/{oid}", timeout=10) as resp:
                out.append(json.loads(resp.read()))
        except OSError as err:
            out.append({"order_id": oid, "error": str(err)})
    return out


def _dead_letters(orders_url: str, auth: dict[str, str]) -> int | None:
    try:
        req = urllib.request.Request(f"{orders_url}/dead-letters", headers=auth)
        with urllib.request.urlopen(req, timeout=10) as resp:
            return len(json.loads(resp.read()))
    except (OSError, ValueError):
        return None


def _locust_failures(out: Path, mode: str) -> tuple[list[str], int]:
    """(wrong outcomes, refused placements) from locust's failure statistics."""
    import csv

    path = out / "locust_failures.csv"
    if not path.exists():
        return [], 0
    wrong, rejected = [], 0
    with path.open() as f:
        for row in csv.DictReader(f):
            if row["Name"] == f"saga:{mode}" and "expected" in row["Error"]:
                wrong.append(row["Error"])
            elif row["Name"] == f"accept:{mode}":
                rejected += int(row["Occurrences"])
    return wrong, rejected


def run_cell(
    fault: ChaosFault,
    mode: str,
    out: Path,
    *,
    rate: float,
    duration_s: float,
    hold_s: float,
    log_level: str = "warn",
) -> CellResult:
    """Load `mode` for `duration_s` on a fresh stack, inject `fault` a quarter into the
    load, stop it `hold_s` later, and judge the outcome. Every process started
    here is stopped before returning."""
    result = CellResult(fault.name, fault.kind, mode, out)
    clock = Clock(f"{fault.name} in {mode}")
    stack = Stack(
        Topology.free(),
        out / "stack",
        runtime.ensure_runtime(),
        persistent=True,
        log_level=log_level,
    )
    load: dict[str, Any] = {}
    try:
        stack.start()
        urls = {app: u["app"] for app, u in stack.urls().items()}
        clock.say(f"stack up; {rate:g} orders/s for {duration_s:.0f} s")

        def locust() -> None:
            try:
                load["run"] = run_locust(stack, mode, rate, duration_s, out, verify_after=False)
            except Exception:
                load["error"] = traceback.format_exc()

        worker = threading.Thread(target=locust, name="locust", daemon=True)
        worker.start()
        if not _await(lambda: bool(_orders(urls)), time.monotonic() + 60):
            raise RuntimeError("locust placed no order within 60 s")
        load_end = time.monotonic() + duration_s  # locust counts its run time from here
        time.sleep(duration_s / 4)  # the fault comes a quarter into the load
        clock.say(f"{len(_orders(urls) or [])} orders placed: {fault.name}")
        fault.inject(stack)
        time.sleep(hold_s)  # the fault lasts this long, under load
        fault.stop(stack)
        stopped, stopped_at = time.monotonic(), datetime.now(UTC)
        clock.say(f"fault stopped ({fault.stopped_by})")
        if _await(lambda: _ended_before(_orders(urls), stopped_at), stopped + DEADLINE_S, 0.1):
            result.recovery_s = round(time.monotonic() - stopped, 1)
            clock.say(f"every order placed before then terminal after {result.recovery_s} s")
        else:
            late = [
                o["order_id"]
                for o in _orders(urls) or []
                if o["status"] not in TERMINAL
                and datetime.fromisoformat(o["created_at"]) <= stopped_at
            ]
            result.late, result.late_count = _evidence(urls["orders"], late[:3]), len(late)
            clock.say(
                f"{len(late)} orders placed before then not terminal {DEADLINE_S:.0f} s later"
            )
        time.sleep(max(0.0, load_end - time.monotonic()))  # the load runs to its end
        result.all_terminal = _await(
            lambda: all(o["status"] in TERMINAL for o in (_orders(urls) or [{"status": "?"}])),
            max(load_end, stopped) + DEADLINE_S,
            0.5,
        )
        auth = stack.credentials.operator_auth()
        report = verify(urls, deadline_s=0, auth=auth)
        result.orders, result.violations = len(report.orders), report.violations
        result.placed_after = sum(
            datetime.fromisoformat(o["created_at"]) > stopped_at for o in report.orders
        )
        stuck = [o["order_id"] for o in report.orders if o["status"] not in TERMINAL]
        result.stuck = _evidence(urls["orders"], stuck[:5])
        result.dead_letters = _dead_letters(urls["orders"], auth["orders"])
        (out / "verify.txt").write_text(report.text() + "\n")
        clock.say(
            f"{result.orders} orders, {len(stuck)} not terminal, "
            f"verify: {len(report.violations)} violation(s); waiting for locust's pollers"
        )
        worker.join(timeout=120)
        run: Run | None = load.get("run")
        if "error" in load:
            result.error = load["error"].strip().splitlines()[-1]
        elif run is not None:
            result.wrong_outcomes, result.rejected = _locust_failures(out, mode)
    except Exception as err:  # a cell that cannot run is reported, and the matrix goes on
        result.error = f"{type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}"
        (out / "error.txt").write_text(traceback.format_exc())
        clock.say(f"ERROR {result.error}")
    finally:
        stack.stop()
    result.seconds = round(time.monotonic() - clock.t0, 1)
    (out / "cell.json").write_text(json.dumps(_jsonable(result), indent=1))
    clock.say(("PASSED" if result.passed else "FAILED") + f" in {result.seconds} s")
    return result


def _jsonable(result: CellResult) -> dict[str, Any]:
    data = dict(result.__dict__)
    data["out"], data["passed"] = str(result.out), result.passed
    return data

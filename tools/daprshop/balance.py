"""Load balancing, shown: `daprshop balance` calls one app-id's /healthz through orders'
sidecar (as orders: its token, its identity) and counts which instance answered each call.
Dapr's self-hosted name resolver (SQLite) picks one of the app-id's live registrations at
random per call; `registrations` reads what it picks from, so the output shows both."""

from __future__ import annotations

import contextlib
import sqlite3
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# components-contrib nameresolution/sqlite: a registration is resolvable while it was
# renewed less than `updateInterval` ago (default 5 s, not set in our Configuration); each
# daprd renews its own every updateInterval - timeout - 1 s = 3 s.
LIVE_FOR_S = 5


@dataclass(frozen=True)
class Registration:
    address: str  # the sidecar's internal gRPC address, what callers' sidecars dial
    age_s: int  # seconds since it was last renewed

    @property
    def live(self) -> bool:
        return self.age_s < LIVE_FOR_S


def registrations(nr_db: Path, app_id: str) -> list[Registration]:
    """The rows Dapr's SQLite name resolver holds for `app_id` (read-only), newest first."""
    if not nr_db.exists():
        return []
    with contextlib.closing(sqlite3.connect(f"file:{nr_db}?mode=ro", uri=True, timeout=2)) as db:
        rows = db.execute(
            "SELECT address, CAST(strftime('%s','now') AS INTEGER) - last_update FROM hosts "
            "WHERE app_id = ? ORDER BY last_update DESC, address",
            (app_id,),
        ).fetchall()
    return [Registration(str(address), int(age)) for address, age in rows]


@dataclass
class Spread:
    """Which instance answered how many calls, and the calls that failed (by status)."""

    answered: Counter[str] = field(default_factory=Counter)
    failed: Counter[str] = field(default_factory=Counter)

    @property
    def calls(self) -> int:
        return sum(self.answered.values()) + sum(self.failed.values())


Call = Callable[[], tuple[int, Any]]  # one call: (HTTP status, JSON body)


def spread(call: Call, calls: int) -> Spread:
    """`calls` calls of `call`, each counted by the `instance` its answer names."""
    out = Spread()
    for _ in range(calls):
        status, body = call()
        if status == 200 and isinstance(body, dict) and "instance" in body:
            out.answered[str(body["instance"])] += 1
        else:
            out.failed[str(status)] += 1
    return out


def report(app_id: str, regs: list[Registration], result: Spread, via: str) -> str:
    live = [r for r in regs if r.live]
    lines = [
        f"{app_id}: {len(live)} live registration(s) in Dapr's name resolution "
        f"(a caller's sidecar picks one at random per call)"
    ]
    for r in regs:
        state = "live" if r.live else f"expired (not renewed for {LIVE_FOR_S}s)"
        lines.append(f"  {r.address:<22} renewed {r.age_s}s ago, {state}")
    lines.append(f"\n{result.calls} calls to {app_id}'s /healthz through {via}, as orders:")
    width = max(map(len, [*result.answered, "instance"]))
    for instance, n in sorted(result.answered.items()):
        share = 100 * n / result.calls
        lines.append(f"  {instance:<{width}} {n:>5}  {share:5.1f}%  {'#' * round(share / 2)}")
    for status, n in sorted(result.failed.items()):
        lines.append(f"  {'failed ' + status:<{width}} {n:>5}")
    if len(result.answered) < 2 <= len(live):
        lines.append("\nonly one instance answered: run more calls (CALLS=100)")
    elif len(live) < 2:
        lines.append(
            f"\none instance only: start the stack with `make run REPLICAS={app_id}=2` to see "
            "the calls spread"
        )
    return "\n".join(lines)

"""The faults of the chaos matrix, one at a time: kill -9 of each app, each sidecar,
placement and the scheduler; a Redis restart; duplicated and reordered deliveries; added
latency. Each knows how to start and how to stop."""

from __future__ import annotations

import json
import signal
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from daprshop.stack import Stack
from daprshop.topology import APP_IDS
from daprshop_contracts.saga import ORDER_SAGA, PARTICIPANTS


@dataclass(frozen=True)
class ChaosFault:
    name: str
    kind: str  # the fault's class: app, sidecar, control plane, redis, delivery, latency
    inject: Callable[[Stack], None]
    stop: Callable[[Stack], None]
    stopped_by: str

    @property
    def kills(self) -> bool:
        """A process is down while the fault lasts (else: a fault plan is in force)."""
        return self.kind not in ("delivery", "latency")


def take_down(stack: Stack, name: str, sig: int = signal.SIGKILL) -> None:
    """A crash like any other: the launcher's supervisor notices it and restarts it."""
    stack.kill(name, sig, hold=False)


def bring_back(stack: Stack, name: str, timeout: float = 90.0) -> None:
    """Wait until the supervisor has restarted `name` (each cell's stack is fresh: its first
    restart) and it is healthy again."""
    stack.wait_restarted(name, after=0, timeout=timeout)


def crash(name: str, kind: str) -> ChaosFault:
    return ChaosFault(
        f"kill -9 {name}",
        kind,
        lambda stack: take_down(stack, name),
        lambda stack: bring_back(stack, name),
        f"{name} restarted by the supervisor and healthy",
    )


def redis_restart() -> ChaosFault:
    # SIGTERM: Redis flushes its append-only file and exits, as in a restart.
    return ChaosFault(
        "restart redis",
        "redis",
        lambda stack: take_down(stack, "redis", signal.SIGTERM),
        lambda stack: bring_back(stack, "redis"),
        "redis restarted by the supervisor from its append-only file",
    )


def put_plan(stack: Stack, fault: dict[str, Any]) -> None:
    """The same fault on every command of every participant (empty: none)."""
    urls = stack.urls()
    for app in PARTICIPANTS:
        plan = {"commands": {c.__name__: fault for c in ORDER_SAGA.commands_of(app)}}
        req = urllib.request.Request(
            f"{urls[app]['app']}/admin/faults",
            data=json.dumps(plan if fault else {"commands": {}}).encode(),
            method="PUT",
            headers={
                "Content-Type": "application/json",
                **stack.credentials.operator_headers(app),
            },
        )
        urllib.request.urlopen(req, timeout=10).read()


def planned(name: str, kind: str, fault: dict[str, Any]) -> ChaosFault:
    return ChaosFault(
        name,
        kind,
        lambda stack: put_plan(stack, fault),
        lambda stack: put_plan(stack, {}),
        "fault plans emptied",
    )


DELIVERY = {"duplicate_rate": 0.5, "reorder_delay_ms": 500}
LATENCY = {"delay_before_s": 0.5}

FAULTS: tuple[ChaosFault, ...] = (
    *(crash(app, "app") for app in APP_IDS),
    *(crash(f"{app}-daprd", "sidecar") for app in APP_IDS),
    crash("placement", "control plane"),
    crash("scheduler", "control plane"),
    redis_restart(),
    planned("duplicate+reorder", "delivery", DELIVERY),
    planned("latency", "latency", LATENCY),
)


def fault(name: str) -> ChaosFault:
    return next(f for f in FAULTS if f.name == name)

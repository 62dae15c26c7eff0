"""The workflow watchdog rebuilds a dead engine once it has looked dead for its grace time,
and leaves a healthy one alone; the health check reads daprd's actor types."""

import asyncio

from daprshop_contracts.saga import ORDER_SAGA
from orders.deps import OrdersDeps
from orders.health import EngineHealth, registered
from orders.saga.runtime import SagaWorker
from orders.settings import Settings
from tests.unit.fakes import APP_TOKEN, fake_platform

DEAD = EngineHealth(worker_connected=True, actor_types_registered=False, connected_workers=1)
ALIVE = EngineHealth(worker_connected=True, actor_types_registered=True, connected_workers=1)


def watch(
    states: list[EngineHealth], checks: int, reconnect_fixes: bool = True
) -> tuple[int, list[int]]:
    """Run the watchdog for `checks` health checks: the number of reconnects it made, and
    for each sidecar restart, how many reconnects came before it."""
    deps = OrdersDeps(fake_platform("orders"), Settings(app_api_token=APP_TOKEN), None, ORDER_SAGA)  # type: ignore[arg-type]
    worker = SagaWorker(deps, check_s=0.001, grace_s=0.0)
    reconnects = 0
    sidecars: list[int] = []

    async def health() -> EngineHealth:
        return states.pop(0) if len(states) > 1 else states[0]

    async def reconnect() -> None:
        nonlocal reconnects
        reconnects += 1
        if reconnect_fixes:
            states[:] = [ALIVE]  # the new stream registered the actor types

    async def restart_sidecar() -> None:
        sidecars.append(reconnects)
        states[:] = [ALIVE]  # a fresh daprd, and the worker reconnected to it

    async def run() -> None:
        worker.health = health  # type: ignore[method-assign]
        worker.reconnect = reconnect  # type: ignore[method-assign]
        worker.restart_sidecar = restart_sidecar  # type: ignore[method-assign]
        task = asyncio.create_task(worker._watch())
        while len(states) > 1 or (states[0] is DEAD and reconnects == 0):
            await asyncio.sleep(0.001)
        for _ in range(checks):
            await asyncio.sleep(0.002)
        task.cancel()

    asyncio.run(run())
    return reconnects, sidecars


def test_a_dead_engine_is_reconnected_once() -> None:
    assert watch([DEAD, DEAD, DEAD], checks=20) == (1, [])


def test_an_engine_a_reconnect_cannot_fix_gets_a_fresh_sidecar_after_two_reconnects() -> None:
    """daprd answers but keeps the actor types unregistered (its deadlock): after 2
    reconnects the watchdog asks daprd to shut down, once."""
    assert watch([DEAD, DEAD, DEAD], checks=20, reconnect_fixes=False) == (2, [2])


def test_a_healthy_engine_is_left_alone() -> None:
    assert watch([ALIVE], checks=20) == (0, [])


def test_registration_is_read_from_daprds_metadata() -> None:
    types = ["workflow", "activity", "retentioner"]
    meta = {"actors": [{"type": f"dapr.internal.default.orders.{t}"} for t in types]}
    assert registered(meta, "orders")
    assert not registered({"actors": meta["actors"][1:]}, "orders")
    assert not registered({"actors": None}, "orders")

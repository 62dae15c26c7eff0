"""Fixtures that start real Redis, placement, scheduler, daprd sidecars and the services on
free loopback ports, and stop every process afterwards, also when a test fails."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from daprshop import runtime
from daprshop.stack import Stack
from daprshop.topology import Topology

HYBRID_TIMEOUT_S = 10  # the e2e stack's hybrid wait for the steps after the hand-off (default 30)
RECONCILE_AFTER_S = 3  # the e2e stack's grace before a lost saga start is redone (default 10)
REDRIVE_AFTER_S = 5  # ... and before a choreographed order standing still is driven again (10)


@pytest.fixture(scope="session")
def dapr_bin() -> Path:
    """The pinned Dapr runtime, found in the cache or built once (`make runtime`)."""
    return runtime.ensure_runtime()


def running_stack(
    workdir: Path, dapr_bin: Path, *, zipkin: bool = False, **app_env: str
) -> Iterator[Stack]:
    """The whole topology (4 apps, 4 sidecars, placement, scheduler, Sentry, Redis; Zipkin
    if asked) with the e2e time-outs, plus `app_env`; stopped afterwards, also when a test
    failed."""
    s = Stack(
        Topology.free(),
        workdir,
        dapr_bin,
        zipkin=zipkin,
        app_env={
            "DAPRSHOP_HYBRID_TIMEOUT_S": str(HYBRID_TIMEOUT_S),
            "DAPRSHOP_RECONCILE_AFTER_S": str(RECONCILE_AFTER_S),
            "DAPRSHOP_REDRIVE_AFTER_S": str(REDRIVE_AFTER_S),
            **app_env,
        },
    )
    s.start()
    try:
        yield s
    finally:
        s.stop()


@pytest.fixture(scope="session")
def stack(dapr_bin: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The whole topology, once per session, with Zipkin as under make run: the tracing
    tests read it and the loopback audit covers it, for ~5 s of CPU once (README "Seeing a
    saga: traces"); the other stacks of the tests run without it."""
    yield from running_stack(tmp_path_factory.mktemp("stack"), dapr_bin, zipkin=True)


@pytest.fixture(scope="module")
def inventory_alone(dapr_bin: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """One service (inventory) with its real sidecar and Redis; no control plane."""
    s = Stack(
        Topology.free(),
        tmp_path_factory.mktemp("inventory"),
        dapr_bin,
        apps=("inventory",),
        control_plane=False,
    )
    s.start()
    try:
        yield s
    finally:
        s.stop()

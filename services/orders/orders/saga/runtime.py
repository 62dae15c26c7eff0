"""The Dapr Workflow worker inside orders: the workflows and activities it hosts, started at
start-up and stopped at shutdown, and a watchdog that rebuilds it when the engine is dead
(worker cut off, or daprd no longer hosting the workflow actor types: docs in health.py)."""

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import dapr.ext.workflow as wf

from orders.deps import OrdersDeps
from orders.health import EngineHealth, registered, shutdown_sidecar, sidecar_metadata
from orders.saga import activities
from orders.saga.diagnostic import diagnostic_workflow, echo_activity
from orders.saga.workflow import ACTIVITY, VERDICT_ACTIVITY, saga_workflow

ORDER_SAGA = "order_saga"
DIAGNOSTIC = "diagnostic"
log = logging.getLogger("daprshop.workflow")
F = TypeVar("F", bound=Callable[..., Any])
MAX_RECONNECTS = 2  # then the fault is in daprd: a reconnect cannot fix it


def _unmarked(fn: F) -> F:
    """`fn` without the marks the SDK leaves on a function it registered: it refuses to
    register one twice (dapr/ext/workflow/workflow_runtime.py:237-247, 310-320), and a
    rebuilt runtime registers these module-level functions again."""
    for mark in ("_workflow_registered", "_activity_registered", "_dapr_alternate_name"):
        fn.__dict__.pop(mark, None)
    return fn


class SagaWorker:
    """Owns one WorkflowRuntime at a time; a stopped one cannot start again, so a repair
    builds a new one. `grace_s`: how long the engine may look dead before it is rebuilt
    (a stream reconnecting by itself takes a few seconds)."""

    def __init__(self, deps: OrdersDeps, *, check_s: float = 2.0, grace_s: float = 10.0) -> None:
        self._deps, self._check_s, self._grace_s = deps, check_s, grace_s
        self._runtime = self._build()
        self._watchdog: asyncio.Task[None] | None = None
        self.reconnects = self.sidecar_restarts = 0

    def _build(self) -> wf.WorkflowRuntime:
        runtime = wf.WorkflowRuntime(
            host="127.0.0.1", port=str(self._deps.platform.settings.dapr_grpc_port)
        )
        runtime.register_workflow(_unmarked(diagnostic_workflow), name=DIAGNOSTIC)
        runtime.register_activity(_unmarked(echo_activity), name="echo")
        runtime.register_workflow(saga_workflow(self._deps.saga), name=ORDER_SAGA)
        runtime.register_activity(activities.call_participant(self._deps), name=ACTIVITY)
        runtime.register_activity(activities.record_verdict(self._deps), name=VERDICT_ACTIVITY)
        return runtime

    async def start(self) -> None:
        await asyncio.to_thread(self._runtime.start)
        self._watchdog = asyncio.create_task(self._watch(), name="workflow-watchdog")

    async def stop(self) -> None:
        if self._watchdog is not None:
            self._watchdog.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watchdog
        await asyncio.to_thread(self._runtime.shutdown)

    def _worker_connected(self) -> bool:
        # the SDK exposes readiness only on its private durabletask worker
        worker = getattr(self._runtime, "_WorkflowRuntime__worker", None)
        return bool(worker is not None and worker.is_worker_ready())

    async def health(self) -> EngineHealth:
        connected = self._worker_connected()
        settings = self._deps.platform.settings
        try:
            meta = await sidecar_metadata(settings)
        except Exception as err:  # sidecar down or restarting: the engine is not usable
            return EngineHealth(
                connected, False, None, self.reconnects, self.sidecar_restarts, f"{err!r}"
            )
        workers = (meta.get("workflows") or {}).get("connectedWorkers")
        types = registered(meta, settings.app_id)
        return EngineHealth(connected, types, workers, self.reconnects, self.sidecar_restarts)

    async def _watch(self) -> None:
        dead_since: float | None = None
        repairs = 0  # reconnects since the engine was last healthy
        while True:
            await asyncio.sleep(self._check_s)  # the watchdog's polling period
            h = await self.health()
            if h.healthy:
                dead_since, repairs = None, 0
            elif dead_since is None:
                dead_since = time.monotonic()
            elif time.monotonic() - dead_since >= self._grace_s:
                dead_since = time.monotonic()
                if repairs < MAX_RECONNECTS or h.error is not None:
                    repairs += 1
                    await self._repair("reconnecting the worker", h, self.reconnect)
                else:  # reachable daprd, connected worker, still no actor types
                    repairs = 0
                    await self._repair("restarting the sidecar", h, self.restart_sidecar)

    async def _repair(self, what: str, h: EngineHealth, how: Callable[[], Awaitable[None]]) -> None:
        log.warning("workflow engine dead for %.0fs (%s): %s", self._grace_s, h, what)
        try:
            await how()
        except Exception:
            log.exception("workflow engine repair failed (%s); trying again", what)

    async def restart_sidecar(self) -> None:
        """daprd can stay wedged with the actor types unregistered (docs/workflow-engine.md):
        no stream of ours revives it, a fresh daprd does. Its supervisor (the launcher, or
        Kubernetes for the daprd container) starts it again; the worker then reconnects."""
        self.sidecar_restarts += 1
        await shutdown_sidecar(self._deps.platform.settings)

    async def reconnect(self) -> None:
        """Close the worker's stream, then open a new one. In that order: daprd registers
        the actor types when a stream connects to an engine without them, and unregisters
        them when its count of streams falls to 0 (a count that can drift, see
        docs/workflow-engine.md); closing first lets the new stream register them."""
        with contextlib.suppress(Exception):
            await asyncio.to_thread(self._runtime.shutdown)
        self._runtime = self._build()
        self.reconnects += 1
        await asyncio.to_thread(self._runtime.start)
        log.warning("workflow worker reconnected (%d since start)", self.reconnects)

"""The Dapr Workflow worker inside orders: the workflows and activities it hosts, started at
start-up and stopped at shutdown."""

import asyncio

import dapr.ext.workflow as wf

from orders.deps import OrdersDeps
from orders.saga import activities
from orders.saga.diagnostic import diagnostic_workflow, echo_activity
from orders.saga.workflow import ACTIVITY, VERDICT_ACTIVITY, saga_workflow

ORDER_SAGA = "order_saga"
DIAGNOSTIC = "diagnostic"


class SagaWorker:
    def __init__(self, deps: OrdersDeps) -> None:
        port = str(deps.platform.settings.dapr_grpc_port)
        self._runtime = wf.WorkflowRuntime(host="127.0.0.1", port=port)
        self._runtime.register_workflow(diagnostic_workflow, name=DIAGNOSTIC)
        self._runtime.register_activity(echo_activity, name="echo")
        self._runtime.register_workflow(saga_workflow(deps.saga), name=ORDER_SAGA)
        self._runtime.register_activity(activities.call_participant(deps), name=ACTIVITY)
        self._runtime.register_activity(activities.record_verdict(deps), name=VERDICT_ACTIVITY)

    async def start(self) -> None:
        await asyncio.to_thread(self._runtime.start)

    async def stop(self) -> None:
        await asyncio.to_thread(self._runtime.shutdown)

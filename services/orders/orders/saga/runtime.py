"""The Dapr Workflow runtime inside orders: built at start-up, stopped at shutdown."""

import dapr.ext.workflow as wf
from dapr.ext.workflow.aio import DaprWorkflowClient

from daprshop_contracts.service import Ctx
from orders.saga.activities import call_participant_activity, stop_saga_activity
from orders.saga.diagnostic import diagnostic_workflow, echo_activity
from orders.saga.workflow import ACTIVITY, STOP_ACTIVITY, order_saga
from orders.settings import Settings

ORDER_SAGA = "order_saga"


def build_runtime(settings: Settings, c: Ctx) -> wf.WorkflowRuntime:
    runtime = wf.WorkflowRuntime(host="127.0.0.1", port=str(settings.dapr_grpc_port))
    runtime.register_workflow(diagnostic_workflow, name="diagnostic")
    runtime.register_activity(echo_activity, name="echo")
    runtime.register_workflow(order_saga, name=ORDER_SAGA)
    runtime.register_activity(call_participant_activity(c), name=ACTIVITY)
    runtime.register_activity(stop_saga_activity(c), name=STOP_ACTIVITY)
    return runtime


def build_client(settings: Settings) -> DaprWorkflowClient:
    return DaprWorkflowClient(host="127.0.0.1", port=str(settings.dapr_grpc_port))

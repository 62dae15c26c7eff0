"""The Dapr Workflow runtime inside orders: built at start-up, stopped at shutdown."""

import dapr.ext.workflow as wf
from dapr.ext.workflow.aio import DaprWorkflowClient

from orders.saga.diagnostic import diagnostic_workflow, echo_activity
from orders.settings import Settings


def build_runtime(settings: Settings) -> wf.WorkflowRuntime:
    runtime = wf.WorkflowRuntime(host="127.0.0.1", port=str(settings.dapr_grpc_port))
    runtime.register_workflow(diagnostic_workflow, name="diagnostic")
    runtime.register_activity(echo_activity, name="echo")
    return runtime


def build_client(settings: Settings) -> DaprWorkflowClient:
    return DaprWorkflowClient(host="127.0.0.1", port=str(settings.dapr_grpc_port))

"""The workflow port's adapter: Dapr Workflow's client, with the SDK's errors for a known or
an unknown instance turned into plain answers, and the current traceparent on every call (a
workflow started or an event raised for an order joins the order's trace)."""

from typing import Any

from dapr.ext.workflow.aio import DaprWorkflowClient
from pydantic import BaseModel

from daprshop_platform.ports import WorkflowView
from daprshop_platform.tracing import GrpcTraceparent


def _view(instance_id: str, state: Any) -> WorkflowView | None:
    if state is None:
        return None
    failure = state.failure_details
    return WorkflowView(
        instance_id=instance_id,
        runtime_status=state.runtime_status.name,
        created_at=state.created_at.isoformat() if state.created_at else None,
        last_updated_at=state.last_updated_at.isoformat() if state.last_updated_at else None,
        output=state.serialized_output,
        failure=failure.message if failure else None,
    )


class DaprWorkflows:
    def __init__(self, dapr_grpc_port: int) -> None:
        self._client = DaprWorkflowClient(host="127.0.0.1", port=str(dapr_grpc_port))
        # The SDK's client takes no interceptors; its inner durabletask client does, and
        # opens its channel (with them) at the first call.
        inner = getattr(self._client, "_DaprWorkflowClient__obj")  # noqa: B009
        inner._interceptors = [*(inner._interceptors or []), GrpcTraceparent()]

    async def start(self, workflow: str, instance_id: str, input: BaseModel) -> None:
        try:
            await self._client.schedule_new_workflow(
                workflow=workflow, input=input, instance_id=instance_id
            )
        except Exception as err:  # the SDK raises a plain RpcError subclass for a known one
            if "already exists" not in str(err):
                raise

    async def raise_event(self, instance_id: str, name: str, data: BaseModel) -> bool:
        try:
            await self._client.raise_workflow_event(instance_id, name, data=data)
        except Exception as err:  # the SDK raises grpc errors for an unknown or ended one
            if "not found" not in str(err).lower() and "no such" not in str(err).lower():
                raise
            return False
        return True

    async def state(self, instance_id: str) -> WorkflowView | None:
        state = await self._client.get_workflow_state(instance_id, fetch_payloads=True)
        return _view(instance_id, state)

    async def wait(self, instance_id: str, timeout_s: float) -> WorkflowView | None:
        state = await self._client.wait_for_workflow_completion(
            instance_id, timeout_in_seconds=int(timeout_s)
        )
        return _view(instance_id, state)

    async def terminate(self, instance_id: str, output: Any) -> None:
        await self._client.terminate_workflow(instance_id, output=output)

    async def purge(self, instance_id: str) -> None:
        await self._client.purge_workflow(instance_id)

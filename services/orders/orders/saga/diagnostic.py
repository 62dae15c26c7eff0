"""A one-activity workflow that proves the workflow engine (placement, scheduler, actor
state) works end to end, before any business saga depends on it."""

from collections.abc import Generator
from typing import Any

import dapr.ext.workflow as wf
from pydantic import BaseModel


class Echo(BaseModel):
    hello: str


def diagnostic_workflow(
    ctx: wf.DaprWorkflowContext, payload: Echo
) -> Generator[Any, Any, dict[str, Any]]:
    echoed = yield ctx.call_activity(echo_activity, input=payload)
    return {"instance_id": ctx.instance_id, "echoed": echoed}


async def echo_activity(ctx: wf.WorkflowActivityContext, payload: Echo) -> dict[str, Any]:
    return {"payload": payload.model_dump(), "task_id": ctx.task_id}
